"""The dashboard in a real browser during a real job (t_dashboard.sh):
headless Chromium opens the page; from its DOM this checks that the set
grid changes colour as sets are counted (a cell seen in another colour
turns the counted colour, as computed by the browser), then kills a node
(SIGKILL, holding a set) and checks that the page shows its breaker
open. A screenshot is taken at the end.

usage: dashboard_check.py URL NODE-NAME NODE-PID SCREENSHOT"""
import json
import os
import signal
import sys
import time

from cdp import Browser

COUNTED_RGB = "rgb(48, 164, 108)"  # --d in web/dashboard.html
TIMEOUT_S = 120
POLL_S = 0.2

# What the page shows: every cell's state letter and computed colour, and
# every node row's breaker.
PROBE = """!document.getElementById('grid') ? 'null' : JSON.stringify({
  seq: document.body.dataset.seq || null,
  conn: document.getElementById('conn').textContent,
  cells: Array.from(document.querySelectorAll('#grid .set'), (c) =>
    [c.dataset.status || '', getComputedStyle(c).backgroundColor]),
  nodes: Object.fromEntries(Array.from(
    document.querySelectorAll('#nodes tbody tr'), (r) =>
    [r.dataset.node, r.querySelector('.breaker').dataset.breaker])),
  events: document.querySelectorAll('#events li').length,
  timeline: document.querySelectorAll('#timeline rect').length
})"""


def main():
    url, node, pid, shot = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    b = Browser()
    last = None
    try:
        b.open(url)
        deadline = time.time() + TIMEOUT_S
        before = None      # each cell's colour when first seen not counted
        turned = None
        while time.time() < deadline:
            last = json.loads(b.eval(PROBE))
            if last is None:  # the page is still loading
                time.sleep(POLL_S)
                continue
            cells = last["cells"]
            if cells and before is None:
                before = {i: c for i, c in enumerate(cells) if c[0] != "D"}
            if before:
                for i, (st, rgb) in enumerate(cells):
                    if i in before and st == "D" and rgb == COUNTED_RGB:
                        turned = (i, before[i], rgb)
                        break
            if turned:
                break
            time.sleep(POLL_S)
        if not turned:
            print(f"FAIL: no set turned the counted colour; last DOM: {last}")
            return 1
        print(f"set {turned[0]}: {turned[1][0]} {turned[1][1]} -> D {turned[2]}"
              f" (of {len(last['cells'])} sets)")
        print(f"node {node}: breaker {last['nodes'].get(node)} before the stop")
        os.kill(pid, signal.SIGKILL)
        while time.time() < deadline:
            last = json.loads(b.eval(PROBE)) or last
            if last["nodes"].get(node) == "open":
                break
            time.sleep(POLL_S)
        else:
            print(f"FAIL: node {node} never showed breaker open; last DOM: {last}")
            return 1
        print(f"node {node}: breaker open on the page after SIGKILL; "
              f"{last['events']} events, {last['timeline']} attempts drawn")
        time.sleep(1)  # one more update in the picture
        b.screenshot(shot)
        print(f"screenshot: {shot}")
        return 0
    finally:
        b.close()


if __name__ == "__main__":
    sys.exit(main())
