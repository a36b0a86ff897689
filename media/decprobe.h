/*
 * decprobe.h - where a node decodes JPEGs: on its CPU threads
 * (libjpeg-turbo) or on a GPU (hwjpeg: NVDEC, VAAPI), and why. At start-up
 * decprobe_run proves each hardware decoder on a real 1600x900 camera-like
 * JPEG: it must open, decode, and give back the same picture as the CPU
 * decode (luma PSNR >= DECPROBE_MIN_PSNR); then both are timed on that
 * picture. media/decchoice.h is the pure policy over those results. No
 * libav types here: the node's own code includes this.
 */
#ifndef FF_DECPROBE_H
#define FF_DECPROBE_H

#include <stddef.h>

#define DECPROBE_MAX 4
#define DECPROBE_NAME_MAX 16
#define DECPROBE_TEXT_MAX 256
#define DECPROBE_MIN_PSNR 40.0 /* dB, hardware picture against the CPU's */
#define DECPROBE_CPU "cpu"

struct decprobe_entry {
    char name[DECPROBE_NAME_MAX];   /* "nvdec", "vaapi" */
    int ok;                         /* decoded the test picture right */
    double ms;                      /* per picture, one stream; ok only */
    double psnr;                    /* against the CPU decode, when run */
    char device[DECPROBE_TEXT_MAX]; /* GPU or device node, when known */
    char reason[DECPROBE_TEXT_MAX]; /* why not, when !ok */
};

struct decprobe {
    int width, height; /* the test picture */
    double cpu_ms;     /* per picture on one CPU thread; 0: not measured
                          (no hardware decoder opened, nothing to compare,
                          and time_cpu not asked) */
    int cpu_threads;   /* the CPU path's decode threads */
    struct decprobe_entry hw[DECPROBE_MAX];
    size_t n;
};

/* Probe every hardware decoder; cpu_threads is what the CPU path would
 * run (0: one per CPU). The CPU is timed when a hardware decoder opened,
 * or always with time_cpu (benchmarks). Called once at node start-up, from
 * one thread. */
void decprobe_run(struct decprobe *p, int cpu_threads, int time_cpu);

#endif
