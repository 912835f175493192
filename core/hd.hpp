// SPLITSIM_HD: a function that CUDA device code and host code both call (host-only inline without nvcc). Headers
// whose per-element code the CUDA kernels share (the wire formats, kernels/quant_math.hpp) mark their functions
// with it, so that the CPU tests exercise exactly what the GPU runs.
#pragma once

#ifndef SPLITSIM_HD
#if defined(__CUDACC__)
#define SPLITSIM_HD __host__ __device__ __forceinline__
#else
#define SPLITSIM_HD inline
#endif
#endif
