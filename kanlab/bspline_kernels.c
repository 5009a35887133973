/* The feature matrix of a KAN layer and its gradient with respect to the inputs, the layer's
 * weights laid out for the matmul, and the layer's product from the non-zero features alone
 * (at the end of this file): CPU kernels for
 * kanlab.kernels, which compiles this file once per dtype (-DREAL=float or -DREAL=double) and
 * loads it with ctypes. Plain C, no Python or torch headers, so a build takes about a second.
 *
 * Features. For x of shape (N, in), row-major, and a grid of G + 2k + 1 knots per input, sample
 * n's row of the output holds, for each input in turn, its size + 1 = G + k + 1 features
 * (input-major, as kanlab.kan):
 *     out[n * row_stride + i * (size + 1) + b] = B_b(x[n, i])    for b < size,
 *     out[n * row_stride + i * (size + 1) + size] = silu(x[n, i]) = x / (1 + e^-x).
 * Gradient. With grad laid out like out (dL/dF),
 *     grad_x[n, i] = sum_b grad[n, i, b] B_b'(x[n, i]) + grad[n, i, size] silu'(x[n, i]),
 *     silu'(x) = s (1 + x (1 - s)),  s = 1 / (1 + e^-x).
 * The B-splines are those of kanlab.splines (Cox-de Boor on the whole knot vector; 0 outside
 * [t_0, t_{G+2k}]; the last cell closed on the right). Only k + 1 of them are non-zero at x:
 * B_{J-k} .. B_J on the cell J holding x. On a uniform grid (start t_0, scale 1/h per input) they
 * are B_{J-k+r}(x) = sum_p M[p, r] u^p with u = (x - t_0)/h - J (kanlab.splines._power_to_bspline);
 * on any other grid they come from de Boor's triangular scheme.
 *
 * The layer's product without the features (sparse_product, sparse_product_grad) is described
 * where it is defined, after the edge weights.
 *
 * The work goes in tiles of at most TILE inputs (whole rows when rows are short), in passes that
 * the compiler vectorises: cells and positions, the k + 1 value planes, silu; then a pass writes
 * (or reads) each input's size + 1 features, which lie side by side. Each output belongs to one
 * thread, so the results do not depend on the number of threads.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#if defined(__AVX512F__)
#include <immintrin.h>
#endif

#ifndef REAL
#define REAL double
#endif
typedef REAL real;

#define TILE 256

/* e^x, to about 1 ulp, written so that loops over it vectorise (no branches, no library call):
 * x = n ln 2 + r with n = round(x / ln 2) (adding 1.5 * 2^m rounds), e^r by the published
 * minimax polynomial (float) or Pade form (double) of Moshier's Cephes library, then 2^n from the
 * exponent bits. x is clamped by one select, not two in a row: after two, GCC threads the path on
 * which the first one clamped through everything after it, so a loop over silu multiplies every
 * lane by the constant 1 / (1 + e^88) too, and those products, below the smallest normal float,
 * cost a microcode assist per vector (the silu loops took ten times as long on an Intel Xeon). */
static inline real exponential(real x) {
#if REAL_IS_DOUBLE
    x = x > -708.0 ? (x < 709.0 ? x : 709.0) : -708.0;
    double shifted = x * 1.4426950408889634074 + 6755399441055744.0; /* 1.5 * 2^52 */
    int64_t whole;
    memcpy(&whole, &shifted, sizeof whole);
    double n = shifted - 6755399441055744.0;
    double r = x - n * 6.93145751953125e-1 - n * 1.42860682030941723212e-6;
    double rr = r * r;
    double p = r * ((1.26177193074810590878e-4 * rr + 3.02994407707441961300e-2) * rr + 1.0);
    double q = ((3.00198505138664455042e-6 * rr + 2.52448340349684104192e-3) * rr
                + 2.27265548208155028766e-1) * rr + 2.0;
    int64_t bits = (whole - 0x4338000000000000LL + 1023) << 52;
    double power;
    memcpy(&power, &bits, sizeof power);
    return (1.0 + 2.0 * p / (q - p)) * power;
#else
    x = x > -87.0f ? (x < 88.0f ? x : 88.0f) : -87.0f;
    float shifted = x * 1.44269504088896341f + 12582912.0f; /* 1.5 * 2^23 */
    int32_t whole;
    memcpy(&whole, &shifted, sizeof whole);
    float n = shifted - 12582912.0f;
    float r = x - n * 0.693359375f + n * 2.12194440e-4f;
    float y = 1.9875691500e-4f;
    y = y * r + 1.3981999507e-3f;
    y = y * r + 8.3334519073e-3f;
    y = y * r + 4.1665795894e-2f;
    y = y * r + 1.6666665459e-1f;
    y = y * r + 5.0000001201e-1f;
    int32_t bits = (whole - 0x4B400000 + 127) << 23;
    float power;
    memcpy(&power, &bits, sizeof power);
    return (y * r * r + r + 1.0f) * power;
#endif
}

/* first[j] for an input outside the grid: every index first + r (r <= k) is then negative */
#define OUTSIDE(k) (-2 * (int32_t)(k) - 2)

/* What the kernels know of a layer's grid. */
typedef struct {
    const real *knots;  /* (in, cells + 1) row-major */
    const real *start;  /* uniform grid: t_0 per input (repeated to fill a tile when rows are short) */
    const real *scale;  /* uniform grid: 1 / h per input (likewise) */
    const real *matrix; /* uniform grid: M (k + 1, k + 1), or D (k, k + 1) for the slopes */
    int64_t in, cells, k;
    int uniform;
} Grid;

/* A tile: rows [row, row + rows) and inputs [column, column + width); its count = rows * width
 * inputs, numbered j = r * width + c, are contiguous in x. */
typedef struct {
    int64_t row, rows, column, width;
} Tile;

/* Uniform grid: first[j] = J - k for the cell J holding x (OUTSIDE beyond the grid) and
 * u[j] = (x - t_0) / h - J. */
__attribute__((noinline)) static void uniform_cells(const real *restrict x, const real *restrict start,
                                                    const real *restrict scale, int64_t count,
                                                    int64_t cells, int64_t k, real *restrict u,
                                                    int32_t *restrict first) {
    const real top = (real)(cells - 1), last = (real)cells;
    const int32_t order = (int32_t)k;
    for (int64_t j = 0; j < count; j++) {
        real position = (x[j] - start[j]) * scale[j];
        real cell = position >= 0 ? position : 0; /* NaN lands here too, and is then OUTSIDE */
        cell = cell < top ? cell : top;
        int32_t whole = (int32_t)cell;
        u[j] = position - (real)whole;
        /* arithmetic, not `?:` or `&&`: the compiler turns those into branches, which stop it
         * from vectorising the loop */
        int32_t inside = (position >= 0) & (position <= last);
        first[j] = OUTSIDE(order) + inside * (whole - order - OUTSIDE(order));
    }
}

/* values[r * TILE + j] = sum_p matrix[p * (k + 1) + r] u^p for p = 0 .. degree (Horner's rule).
 * Inlined with constant k and degree, the loops over r and p unroll and the loop over the tile
 * vectorises: one pass for all k + 1 planes. */
static inline __attribute__((always_inline)) void horner_pass(const real *restrict u,
                                                              const real *restrict matrix,
                                                              int64_t count, const int64_t k,
                                                              const int64_t degree,
                                                              real *restrict values) {
    for (int64_t j = 0; j < count; j++) {
        const real position = u[j];
        for (int64_t r = 0; r <= k; r++) {
            real value = matrix[degree * (k + 1) + r];
            for (int64_t p = degree - 1; p >= 0; p--) value = value * position + matrix[p * (k + 1) + r];
            values[r * TILE + j] = value;
        }
    }
}

/* The same for any k: the common orders get their own unrolled pass, others a pass per plane
 * and power. */
static void horner(const real *restrict u, const real *restrict matrix, int64_t count, int64_t k,
                   int64_t degree, real *restrict values) {
#define FIXED(K, DEGREE) \
    if (k == K && degree == DEGREE) return horner_pass(u, matrix, count, K, DEGREE, values)
    FIXED(1, 1); FIXED(1, 0); FIXED(2, 2); FIXED(2, 1); FIXED(3, 3); FIXED(3, 2);
#undef FIXED
    for (int64_t r = 0; r <= k; r++) {
        real *restrict plane = values + r * TILE;
        const real leading = matrix[degree * (k + 1) + r];
        for (int64_t j = 0; j < count; j++) plane[j] = leading;
        for (int64_t p = degree - 1; p >= 0; p--) {
            const real coefficient = matrix[p * (k + 1) + r];
            for (int64_t j = 0; j < count; j++) plane[j] = plane[j] * u[j] + coefficient;
        }
    }
}

/* Any grid: de Boor's scheme (as kanlab.splines._general_local_basis) for one input v on knots t.
 * Writes the k + 1 values, or with `slopes` the derivatives B'_{J-k+r} = k (T_{r-1} - T_r) from the
 * last degree's ratios T, at stride TILE; returns J - k, or OUTSIDE. work: 4 (k + 1) reals. */
static int32_t de_boor(real v, const real *t, int64_t cells, int64_t k, int slopes, real *values,
                       real *work) {
    if (!(v >= t[0] && v <= t[cells])) return OUTSIDE(k);
    int64_t low = 0, high = cells - 1; /* the last J in 0 .. cells - 1 with t_J <= v */
    while (low < high) {
        int64_t middle = (low + high + 1) / 2;
        if (t[middle] <= v) low = middle; else high = middle - 1;
    }
    real *left = work, *right = work + (k + 1), *local = work + 2 * (k + 1), *ratio = work + 3 * (k + 1);
    for (int64_t r = 1; r <= k; r++) { /* knots beyond the ends (only missing B-splines use them) clamp */
        int64_t below = low + 1 - r, above = low + r;
        left[r] = v - t[below < 0 ? 0 : below];
        right[r] = t[above > cells ? cells : above] - v;
    }
    local[0] = 1;
    for (int64_t d = 1; d <= k; d++) {
        real saved = 0;
        for (int64_t r = 0; r < d; r++) {
            real width = right[r + 1] + left[d - r];
            ratio[r] = width > 0 ? local[r] / width : 0;
            local[r] = saved + right[r + 1] * ratio[r];
            saved = left[d - r] * ratio[r];
        }
        local[d] = saved;
    }
    for (int64_t r = 0; r <= k; r++)
        values[r * TILE] = !slopes ? local[r]
                         : k == 0  ? 0
                                   : k * ((r > 0 ? ratio[r - 1] : 0) - (r < k ? ratio[r] : 0));
    return (int32_t)(low - k);
}

/* The k + 1 local values (or slopes) of every input of a tile, and first[j]. */
static void tile_values(const real *x, const Grid *grid, const Tile *tile, int slopes,
                        real *values, int32_t *first, real *u, real *work) {
    const int64_t count = tile->rows * tile->width, k = grid->k;
    if (grid->uniform) {
        uniform_cells(x, grid->start + tile->column, grid->scale + tile->column, count, grid->cells,
                      k, u, first);
        if (slopes && k == 0) {
            memset(values, 0, sizeof(real) * TILE);
            return;
        }
        horner(u, grid->matrix, count, k, slopes ? k - 1 : k, values);
        if (slopes) /* d/dx = d/du / h */
            for (int64_t r = 0; r <= k; r++)
                for (int64_t j = 0; j < count; j++) values[r * TILE + j] *= grid->scale[tile->column + j];
        else /* B-splines are >= 0; the power form can round to -1e-17 beside a knot */
            for (int64_t r = 0; r <= k; r++) {
                real *restrict plane = values + r * TILE;
                for (int64_t j = 0; j < count; j++) plane[j] = plane[j] > 0 ? plane[j] : 0;
            }
        return;
    }
    for (int64_t j = 0; j < count; j++) {
        int64_t input = tile->column + j % tile->width;
        first[j] = de_boor(x[j], grid->knots + input * (grid->cells + 1), grid->cells, k, slopes,
                           values + j, work);
    }
}

/* Per-thread scratch: k + 1 value planes, u, silu, first and de Boor's work. */
typedef struct {
    real *values, *u, *silu, *work;
    int32_t *first;
} Scratch;

static int scratch_alloc(Scratch *s, int64_t k) {
    s->values = malloc(sizeof(real) * ((k + 3) * TILE + 4 * (k + 1)));
    s->first = malloc(sizeof(int32_t) * TILE);
    if (!s->values || !s->first) { /* the caller frees nothing then */
        free(s->values);
        free(s->first);
        return 0;
    }
    s->u = s->values + (k + 1) * TILE;
    s->silu = s->u + TILE;
    s->work = s->silu + TILE;
    return 1;
}

/* Rows per tile: whole rows when a row is shorter than TILE, else one row in pieces. */
static int64_t rows_per_tile(int64_t in) { return in >= TILE ? 1 : TILE / in; }

/* A uniform grid's start t_0 and scale 1/h = cells / (t_cells - t_0) for each input, repeated
 * over the rows of a tile when rows are short (so that a tile reads them like its inputs).
 * Returns 0 if out of memory. */
static int uniform_steps(Grid *grid, real **buffer) {
    const int64_t rows = rows_per_tile(grid->in), in = grid->in, cells = grid->cells;
    *buffer = NULL;
    if (!grid->uniform) return 1;
    *buffer = malloc(sizeof(real) * 2 * rows * in);
    if (!*buffer) return 0;
    real *start = *buffer, *scale = *buffer + rows * in;
    for (int64_t i = 0; i < in; i++) {
        const real *t = grid->knots + i * (cells + 1);
        start[i] = t[0];
        scale[i] = (real)cells / (t[cells] - t[0]);
    }
    for (int64_t r = 1; r < rows; r++) {
        memcpy(start + r * in, start, sizeof(real) * in);
        memcpy(scale + r * in, scale, sizeof(real) * in);
    }
    grid->start = start;
    grid->scale = scale;
    return 1;
}

/* The tiles, in order: rows in groups of rows_per_tile, each group's inputs in pieces of TILE. */
static int64_t tile_count(int64_t rows, int64_t in) {
    int64_t per = rows_per_tile(in);
    return (rows + per - 1) / per * ((in + TILE - 1) / TILE);
}

static Tile tile_at(int64_t index, int64_t rows, int64_t in) {
    int64_t per = rows_per_tile(in), pieces = (in + TILE - 1) / TILE;
    Tile tile;
    tile.row = index / pieces * per;
    tile.rows = rows - tile.row < per ? rows - tile.row : per;
    tile.column = index % pieces * TILE;
    tile.width = in - tile.column < TILE ? in - tile.column : TILE;
    return tile;
}

/* Writes the features of `count` inputs lying `width` = size + 1 apart: zeros, the k + 1 values
 * at first[j] .. first[j] + k (those inside 0 .. size - 1), silu last. Inlined with a constant k
 * (below), the loops over the k + 1 values unroll. */
static inline __attribute__((always_inline)) void place(real *features, const real *values,
                                                        const int32_t *first, const real *silu,
                                                        int64_t count, int64_t size, const int64_t k) {
    for (int64_t j = 0; j < count; j++, features += size + 1) {
        const int64_t f = first[j];
        const real *value = values + j;
        /* zeros input by input, so the value stores right after hit the same cache lines (the
         * build's -fno-tree-loop-distribute-patterns keeps this loop from becoming a memset call) */
        for (int64_t b = 0; b < size; b++) features[b] = 0;
        features[size] = silu[j];
        if (f >= 0 && f + k < size) {
            for (int64_t q = 0; q <= k; q++) features[f + q] = value[q * TILE];
        } else {
            for (int64_t q = 0; q <= k; q++)
                if (f + q >= 0 && f + q < size) features[f + q] = value[q * TILE];
        }
    }
}

/* target[j] = grad[size] silu'[j] + sum_q grad[first[j] + q] slope_q, for `count` inputs whose
 * gradients lie size + 1 apart; inlined like `place`. */
static inline __attribute__((always_inline)) void gather(real *target, const real *grad,
                                                         const real *slopes, const int32_t *first,
                                                         const real *silu_slope, int64_t count,
                                                         int64_t size, const int64_t k) {
    for (int64_t j = 0; j < count; j++, grad += size + 1) {
        const int64_t f = first[j];
        const real *slope = slopes + j;
        real total = grad[size] * silu_slope[j];
        if (f >= 0 && f + k < size) {
            for (int64_t q = 0; q <= k; q++) total += grad[f + q] * slope[q * TILE];
        } else {
            for (int64_t q = 0; q <= k; q++)
                if (f + q >= 0 && f + q < size) total += grad[f + q] * slope[q * TILE];
        }
        target[j] = total;
    }
}

/* `place` and `gather` for any k, with their own copies for the common orders. */
static void place_any(real *features, const real *values, const int32_t *first, const real *silu,
                      int64_t count, int64_t size, int64_t k) {
    if (k == 1) place(features, values, first, silu, count, size, 1);
    else if (k == 2) place(features, values, first, silu, count, size, 2);
    else if (k == 3) place(features, values, first, silu, count, size, 3);
    else place(features, values, first, silu, count, size, k);
}

static void gather_any(real *target, const real *grad, const real *slopes, const int32_t *first,
                       const real *silu_slope, int64_t count, int64_t size, int64_t k) {
    if (k == 1) gather(target, grad, slopes, first, silu_slope, count, size, 1);
    else if (k == 2) gather(target, grad, slopes, first, silu_slope, count, size, 2);
    else if (k == 3) gather(target, grad, slopes, first, silu_slope, count, size, 3);
    else gather(target, grad, slopes, first, silu_slope, count, size, k);
}

/* Both passes, tile by tile: with features, write them (slopes = 0); with grad and grad_x, take
 * dL/dx (slopes = 1). Returns 0 on success, 1 if out of memory (the output is then incomplete),
 * 2 if x holds NaN or inf (the output is then computed, but meaningless). */
static int run(const real *x, const real *knots, const real *matrix, int uniform, int64_t rows,
               int64_t in, int64_t cells, int64_t k, real *features, const real *grad,
               int64_t row_stride, real *grad_x, int threads) {
    if (in == 0) return 0; /* no features to write, no gradient to take (and tiles of no inputs) */
    Grid grid = {knots, NULL, NULL, matrix, in, cells, k, uniform};
    const int slopes = features == NULL;
    const int64_t size = cells - k, width = size + 1, tiles = tile_count(rows, in);
    real *steps;
    if (!uniform_steps(&grid, &steps)) return 1;
    int failed = 0;
#pragma omp parallel num_threads(threads) if (rows * in * (k + 2) > 65536) reduction(| : failed)
    {
        Scratch s = {0};
        const int ready = scratch_alloc(&s, k);
        failed = !ready;
#pragma omp for schedule(static) /* every thread must reach the loop, ready or not */
        for (int64_t index = 0; index < tiles; index++) {
            if (!ready) continue;
            Tile tile = tile_at(index, rows, in);
            const int64_t count = tile.rows * tile.width, start = tile.row * in + tile.column;
            const real *xs = x + start;
            tile_values(xs, &grid, &tile, slopes, s.values, s.first, s.u, s.work);
            int nonfinite = 0; /* x - x is 0 for every finite x, NaN for NaN and inf */
            for (int64_t j = 0; j < count; j++) { /* silu(x), or silu'(x) */
                real sigmoid = 1 / (1 + exponential(-xs[j]));
                s.silu[j] = slopes ? sigmoid * (1 + xs[j] * (1 - sigmoid)) : xs[j] * sigmoid;
                nonfinite |= xs[j] - xs[j] != 0;
            }
            if (nonfinite) failed |= 2;
            /* the tile's rows, or all of it at once when the rows lie end to end */
            const int64_t pieces = row_stride == in * width ? 1 : tile.rows, length = count / pieces;
            for (int64_t r = 0; r < pieces; r++) {
                const int64_t offset = (tile.row + r) * row_stride + tile.column * width, j = r * length;
                if (slopes)
                    gather_any(grad_x + start + j, grad + offset, s.values + j, s.first + j, s.silu + j,
                               length, size, k);
                else
                    place_any(features + offset, s.values + j, s.first + j, s.silu + j, length, size, k);
            }
        }
        if (ready) {
            free(s.values);
            free(s.first);
        }
    }
    free(steps);
    return failed;
}

/* The features of x into out (row i of sample n at out + n * row_stride + i * (G + k + 1)).
 * Returns 0, or as `run` says. */
int write_features(const real *x, const real *knots, const real *matrix, int uniform, int64_t rows,
                   int64_t in, int64_t cells, int64_t k, real *out, int64_t row_stride, int threads) {
    return run(x, knots, matrix, uniform, rows, in, cells, k, out, NULL, row_stride, NULL, threads);
}

/* dL/dx into grad_x (N, in) from dL/dF laid out like write_features's out.
 * Returns 0, or as `run` says. */
int features_grad(const real *x, const real *knots, const real *matrix, int uniform, int64_t rows,
                  int64_t in, int64_t cells, int64_t k, const real *grad, int64_t row_stride,
                  real *grad_x, int threads) {
    return run(x, knots, matrix, uniform, rows, in, cells, k, NULL, grad, row_stride, grad_x, threads);
}

/* The in-major layout goes in blocks of EDGE_TILE inputs, whose rows of W (or dW) stay in the
 * cache while the outputs go by. edge_weights takes a block in tiles of EDGE_TILE outputs, its
 * loops over outputs running along W's rows, with the coefficients they read (one input's lie a
 * page or more apart, output after output) in the L1 cache; edge_weights_grad takes it output by
 * output, along the rows of dL/dc. Either is 5-25% faster than the plain loops. */
#define EDGE_TILE 16

/* With AVX-512 and floats, whole tiles of EDGE_TILE inputs and EDGE_TILE outputs (one vector each
 * way) are turned in registers, 16 x 16 values at a time: edge_tile_weights and edge_tile_grads
 * compute what the loops below compute value by value, with the same operations in the same order
 * (the same numbers to the bit, so that no result depends on which path a tile takes), faster than
 * those loops' strided reads. */
#if defined(__AVX512F__) && !REAL_IS_DOUBLE
#define EDGE_VECTORS 1

/* r[0 .. 16), 16 rows of 16 floats, becomes its transpose: r[c] holds what was column c. */
static inline __attribute__((always_inline)) void transpose16(__m512 r[16]) {
    __m512 t[16], u[16];
    for (int i = 0; i < 8; i++) { /* pairs of rows interleaved, then pairs of pairs */
        t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    for (int i = 0; i < 4; i++) {
        u[4 * i] = (__m512)_mm512_unpacklo_pd((__m512d)t[4 * i], (__m512d)t[4 * i + 2]);
        u[4 * i + 1] = (__m512)_mm512_unpackhi_pd((__m512d)t[4 * i], (__m512d)t[4 * i + 2]);
        u[4 * i + 2] = (__m512)_mm512_unpacklo_pd((__m512d)t[4 * i + 1], (__m512d)t[4 * i + 3]);
        u[4 * i + 3] = (__m512)_mm512_unpackhi_pd((__m512d)t[4 * i + 1], (__m512d)t[4 * i + 3]);
    }
    for (int i = 0; i < 4; i++) { /* then the 128-bit lanes */
        t[i] = _mm512_shuffle_f32x4(u[i], u[4 + i], 0x88);
        t[4 + i] = _mm512_shuffle_f32x4(u[i], u[4 + i], 0xDD);
        t[8 + i] = _mm512_shuffle_f32x4(u[8 + i], u[12 + i], 0x88);
        t[12 + i] = _mm512_shuffle_f32x4(u[8 + i], u[12 + i], 0xDD);
    }
    for (int i = 0; i < 4; i++) {
        r[i] = _mm512_shuffle_f32x4(t[i], t[8 + i], 0x88);
        r[4 + i] = _mm512_shuffle_f32x4(t[4 + i], t[12 + i], 0x88);
        r[8 + i] = _mm512_shuffle_f32x4(t[i], t[8 + i], 0xDD);
        r[12 + i] = _mm512_shuffle_f32x4(t[4 + i], t[12 + i], 0xDD);
    }
}

/* W (in-major, as edge_weights) for inputs first .. first + 15 and outputs j0 .. j0 + 15. The
 * coefficients of 16 outputs for the tile's inputs lie in 16 runs of 16 size values; each 16 x 16
 * block of them, turned, gives 16 rows of W (input i = f / size, b = f % size for f = 16 s + t). */
static void edge_tile_weights(const real *c, const real *scale, const real *base, const real *mask, int64_t in,
                              int64_t size, int64_t out, int64_t first, int64_t j0, real *w) {
    const int64_t width = size + 1;
    __m512 live[16], silu[16], v[16];
    for (int jj = 0; jj < 16; jj++) {
        const int64_t edge = (j0 + jj) * in + first;
        const __m512 m = _mm512_loadu_ps(mask + edge);
        live[jj] = _mm512_mul_ps(_mm512_loadu_ps(scale + edge), m);
        silu[jj] = _mm512_mul_ps(_mm512_loadu_ps(base + edge), m);
    }
    transpose16(live); /* live[ii]: input first + ii's over the 16 outputs */
    transpose16(silu);
    for (int ii = 0; ii < 16; ii++) _mm512_storeu_ps(w + ((first + ii) * width + size) * out + j0, silu[ii]);
    for (int64_t s = 0; s < size; s++) {
        for (int jj = 0; jj < 16; jj++) v[jj] = _mm512_loadu_ps(c + ((j0 + jj) * in + first) * size + 16 * s);
        transpose16(v);
        for (int t = 0; t < 16; t++) {
            const int64_t f = 16 * s + t, ii = f / size;
            _mm512_storeu_ps(w + ((first + ii) * width + f % size) * out + j0, _mm512_mul_ps(v[t], live[ii]));
        }
    }
}

/* edge_grads_of for the same tile, dw holding the 16 inputs' rows of dW (16, size + 1, out): dL/dc
 * row by row of the outputs (dW's 16 x 16 blocks turned), the sums for dL/dscale over the outputs
 * (c's blocks turned), b after b as edge_grad adds them, then turned back. */
static void edge_tile_grads(const real *dw, const real *c, const real *scale, const real *mask, int64_t in,
                            int64_t size, int64_t out, int64_t first, int64_t j0, real *grad_c, real *grad_scale,
                            real *grad_base) {
    const int64_t width = size + 1;
    __m512 live[16], masks[16], total[16], base[16], d[16], v[16];
    for (int jj = 0; jj < 16; jj++) {
        const int64_t edge = (j0 + jj) * in + first;
        masks[jj] = _mm512_loadu_ps(mask + edge);
        live[jj] = _mm512_mul_ps(_mm512_loadu_ps(scale + edge), masks[jj]); /* over the 16 inputs */
        total[jj] = _mm512_setzero_ps();
        base[jj] = _mm512_loadu_ps(dw + (jj * width + size) * out + j0); /* input first + jj's silu row */
    }
    for (int64_t s = 0; s < size; s++) {
        __m512i which = _mm512_setzero_si512(); /* the input of each of the block's 16 values */
        for (int t = 0; t < 16; t++) {
            const int64_t f = 16 * s + t;
            d[t] = _mm512_loadu_ps(dw + ((f / size) * width + f % size) * out + j0);
            which = _mm512_mask_set1_epi32(which, (__mmask16)(1u << t), (int)(f / size));
        }
        for (int jj = 0; jj < 16; jj++) v[jj] = _mm512_loadu_ps(c + ((j0 + jj) * in + first) * size + 16 * s);
        transpose16(v);
        for (int t = 0; t < 16; t++) {
            const int64_t ii = (16 * s + t) / size;
            total[ii] = _mm512_fmadd_ps(d[t], v[t], total[ii]);
        }
        transpose16(d); /* d[jj]: output j0 + jj's values of dW for these 16 (input, b) */
        for (int jj = 0; jj < 16; jj++)
            _mm512_storeu_ps(grad_c + ((j0 + jj) * in + first) * size + 16 * s,
                             _mm512_mul_ps(d[jj], _mm512_permutexvar_ps(which, live[jj])));
    }
    transpose16(total); /* total[jj]: output j0 + jj's sums over the 16 inputs */
    transpose16(base);
    for (int jj = 0; jj < 16; jj++) {
        const int64_t edge = (j0 + jj) * in + first;
        _mm512_storeu_ps(grad_scale + edge, _mm512_mul_ps(total[jj], masks[jj]));
        _mm512_storeu_ps(grad_base + edge, _mm512_mul_ps(base[jj], masks[jj]));
    }
}
#endif

/* A layer's edge weights from its parameters (kanlab.kan._weight_matrix), c (out, in, size) the
 * spline coefficients, scale, base and mask (out, in). With out_major, W^T (out, in, size + 1) as the
 * parameters lie:
 *     W^T[j, i, b] = c[j, i, b] scale[j, i] mask[j, i] for b < size,  W^T[j, i, size] = base[j, i] mask[j, i];
 * else W (in, size + 1, out), the same values in-major (as sparse_product reads them).
 * One pass, where PyTorch's broadcasting products and concatenation take several slow ones (their
 * innermost dimension is only size long). A thread takes whole outputs (whole blocks of inputs
 * in-major). Returns 0. */
int edge_weights(const real *c, const real *scale, const real *base, const real *mask, int64_t out,
                 int64_t in, int64_t size, int out_major, real *w, int threads) {
    const int64_t width = size + 1;
    if (out_major) {
#pragma omp parallel for num_threads(threads) if (out * in * size > 65536) schedule(static)
        for (int64_t j = 0; j < out; j++)
            for (int64_t i = 0; i < in; i++) {
                const int64_t edge = j * in + i;
                const real live = scale[edge] * mask[edge];
                for (int64_t b = 0; b < size; b++) w[edge * width + b] = c[edge * size + b] * live;
                w[edge * width + size] = base[edge] * mask[edge];
            }
        return 0;
    }
#pragma omp parallel for num_threads(threads) if (out * in * size > 65536) schedule(static)
    for (int64_t first = 0; first < in; first += EDGE_TILE)
        for (int64_t j0 = 0; j0 < out; j0 += EDGE_TILE) {
#if EDGE_VECTORS
            if (first + EDGE_TILE <= in && j0 + EDGE_TILE <= out) {
                edge_tile_weights(c, scale, base, mask, in, size, out, first, j0, w);
                continue;
            }
#endif
            const int64_t j1 = out - j0 < EDGE_TILE ? out : j0 + EDGE_TILE;
            for (int64_t i = first; i < in && i < first + EDGE_TILE; i++) {
                real *rows = w + i * width * out, live[EDGE_TILE];
                for (int64_t j = j0; j < j1; j++) live[j - j0] = scale[j * in + i] * mask[j * in + i];
                for (int64_t b = 0; b < size; b++)
                    for (int64_t j = j0; j < j1; j++) rows[b * out + j] = c[(j * in + i) * size + b] * live[j - j0];
                for (int64_t j = j0; j < j1; j++) rows[size * out + j] = base[j * in + i] * mask[j * in + i];
            }
        }
    return 0;
}

/* a b + c rounded once: a fused multiply-add, whether or not the compiler would have fused a b + c
 * (GCC fuses some of a loop's and not others), so that the vector tiles above give the same sums */
#if REAL_IS_DOUBLE
#define FUSED __builtin_fma
#else
#define FUSED __builtin_fmaf
#endif

/* Edge (j, i)'s gradients from its size + 1 values of dL/dW, `step` apart from g. */
static inline void edge_grad(const real *g, int64_t step, const real *c, const real *scale, const real *mask,
                             int64_t edge, int64_t size, real *grad_c, real *grad_scale, real *grad_base) {
    const real live = scale[edge] * mask[edge];
    real total = 0;
    for (int64_t b = 0; b < size; b++) {
        grad_c[edge * size + b] = g[b * step] * live;
        total = FUSED(g[b * step], c[edge * size + b], total);
    }
    grad_scale[edge] = total * mask[edge];
    grad_base[edge] = g[size * step] * mask[edge];
}

/* The parameters' gradients of inputs first .. last - 1 from their rows of dW, dw (last - first,
 * size + 1, out), as edge_weights_grad takes them (output by output, along the rows of dL/dc). */
static void edge_grads_of(const real *dw, const real *c, const real *scale, const real *mask, int64_t in,
                          int64_t size, int64_t out, int64_t first, int64_t last, real *grad_c, real *grad_scale,
                          real *grad_base) {
    int64_t j = 0;
#if EDGE_VECTORS
    if (last - first == EDGE_TILE)
        for (; j + EDGE_TILE <= out; j += EDGE_TILE)
            edge_tile_grads(dw, c, scale, mask, in, size, out, first, j, grad_c, grad_scale, grad_base);
#endif
    for (; j < out; j++)
        for (int64_t i = first; i < last; i++)
            edge_grad(dw + (i - first) * (size + 1) * out + j, out, c, scale, mask, j * in + i, size, grad_c,
                      grad_scale, grad_base);
}

/* The parameters' gradients from dL/dW^T (out, in, size + 1) with out_major, else from dL/dW
 * (in, size + 1, out), as edge_weights lays W out:
 *     dL/dc[j, i, b] = dL/dW[i, b, j] scale[j, i] mask[j, i],
 *     dL/dscale[j, i] = mask[j, i] sum_b dL/dW[i, b, j] c[j, i, b],
 *     dL/dbase[j, i] = dL/dW[i, size, j] mask[j, i]. Returns 0. */
int edge_weights_grad(const real *grad, const real *c, const real *scale, const real *mask, int64_t out,
                      int64_t in, int64_t size, int out_major, real *grad_c, real *grad_scale,
                      real *grad_base, int threads) {
    const int64_t width = size + 1;
    if (out_major) {
#pragma omp parallel for num_threads(threads) if (out * in * size > 65536) schedule(static)
        for (int64_t edge = 0; edge < out * in; edge++)
            edge_grad(grad + edge * width, 1, c, scale, mask, edge, size, grad_c, grad_scale, grad_base);
        return 0;
    }
#pragma omp parallel for num_threads(threads) if (out * in * size > 65536) schedule(static)
    for (int64_t first = 0; first < in; first += EDGE_TILE)
        edge_grads_of(grad + first * width * out, c, scale, mask, in, size, out, first,
                      in - first < EDGE_TILE ? in : first + EDGE_TILE, grad_c, grad_scale, grad_base);
    return 0;
}

/* ------------------------------------------------------------------------------------------------
 * The layer's product without the features. With W in-major, (in, size + 1, out) (row b of input
 * i is W[i, b, :], the silu row last), each input meets only k + 1 B-splines and silu:
 *     y[n, :] = sum_i ( silu(x[n, i]) W[i, size, :] + sum_q B_{f+q}(x[n, i]) W[i, f + q, :] ),
 * f = first[n, i], so a sample costs in * (k + 2) AXPYs of length out instead of a dense row of
 * in * (size + 1), and F (batch * in * (size + 1) values) is never written. Backward recomputes the
 * values (and slopes) and takes
 *     dW[i, f + q, :] += B_{f+q}(x[n, i]) dY[n, :],   dW[i, size, :] += silu(x[n, i]) dY[n, :],
 *     dx[n, i] = sum_q B'_{f+q}(x[n, i]) <W[i, f + q, :], dY[n, :]> + silu'(x[n, i]) <W[i, size, :], dY[n, :]>.
 * The cells and values come from the vectorised passes above, a patch of at most TILE samples of
 * one input at a time. Both passes sort samples by cell (`sort_by_cell`), so that the k + 2 rows of
 * W (or dW) that a cell's samples meet stay in registers while the samples go by. Forward: a thread
 * takes whole chunks of samples, whose rows of y stay in the L1 cache; for each input in turn, the
 * chunk's values, its samples sorted by cell, and each cell's rows of W added into its samples'
 * rows of y (`add_groups`). Gathering each sample's rows of W from memory instead, the rows of y in
 * registers, made the multiply-adds take a third longer: a load for each. Backward: a thread takes
 * whole inputs; for each, the values of all samples (patches of TILE samples), dx from W's rows,
 * then the samples sorted by cell and dW summed cell by cell in registers (`sweep`): adding into
 * dW in memory instead, sample after sample, was as slow as the dense product (one store per
 * multiply-add). Each sample's row of y sums the inputs in order, each input's dW the samples in
 * order of cell and number, so no result depends on the number of threads.
 */

/* Per-thread scratch of the sparse product: the patch's x, its grid steps, values (or slopes) and
 * their rows of W. */
typedef struct {
    real *x, *start, *scale, *values, *slopes, *silu, *silu_slope, *u, *work;
    int32_t *first, *index;
} Patch;

static int patch_alloc(Patch *p, int64_t k) {
    p->x = malloc(sizeof(real) * ((2 * k + 9) * TILE + 4 * (k + 1)));
    p->first = malloc(sizeof(int32_t) * (k + 2) * TILE);
    if (!p->x || !p->first) { /* patch_free then frees nothing twice */
        free(p->x);
        free(p->first);
        p->x = NULL;
        p->first = NULL;
        return 0;
    }
    p->start = p->x + TILE;
    p->scale = p->start + TILE;
    p->values = p->scale + TILE;
    p->slopes = p->values + (k + 1) * TILE;
    p->silu = p->slopes + (k + 1) * TILE;
    p->silu_slope = p->silu + TILE;
    p->u = p->silu_slope + TILE;
    p->work = p->u + TILE;
    p->index = p->first + TILE;
    return 1;
}

static void patch_free(Patch *p) {
    free(p->x);
    free(p->first);
}

/* The patch's grid steps (a uniform grid's t_0 and 1/h of input `column`, repeated for `rows`
 * samples), so that the passes above read them like the patch's x. */
static void patch_steps(const Grid *grid, int64_t column, int64_t rows, Patch *p) {
    if (!grid->uniform) return;
    for (int64_t r = 0; r < rows; r++) {
        p->start[r] = grid->start[column];
        p->scale[r] = grid->scale[column];
    }
}

/* Cells, values (with `slopes`, slopes too) and silu (silu') of samples row .. row + rows - 1 of
 * input `column`: p->values[q * TILE + r] = B_{f+q}(x) for sample row + r. With `indexed`, also
 * p->index[q * TILE + r] = f + q, both with f + q clamped into 0 .. size - 1 and the value (and
 * slope) 0 where B_{f+q} does not exist; without, such values are left as the power form gives
 * them, for kernels that skip the rows outside 0 .. size - 1 (add_groups, sweep: a pass over the
 * patch less). Returns 1 if x holds NaN or inf there. */
static int patch_values(const real *x, int64_t in, const Grid *grid, int64_t row, int64_t rows,
                        int64_t column, int slopes, int indexed, Patch *p) {
    const int64_t k = grid->k, size = grid->cells - k;
    for (int64_t r = 0; r < rows; r++) p->x[r] = x[(row + r) * in + column];
    /* the patch as a tile of its own: its input 0 is input `column` */
    Grid local = *grid;
    local.knots = grid->knots + column * (grid->cells + 1);
    local.start = p->start;
    local.scale = p->scale;
    Tile tile = {0, rows, 0, 1};
    if (slopes) {
        local.matrix = grid->matrix + (k + 1) * (k + 1); /* D follows M */
        tile_values(p->x, &local, &tile, 1, p->slopes, p->first, p->u, p->work);
        local.matrix = grid->matrix;
    }
    tile_values(p->x, &local, &tile, 0, p->values, p->first, p->u, p->work);
    /* (restrict copies and a loop for each case: with the pointers in p and `slopes` tested inside,
     * the compiler left these loops scalar. silu' = s (1 + x (1 - s)) in a pass of its own, from the
     * stored s: in the same loop as s, GCC contracted it into other roundings, one ulp off the
     * scalar loop's values in a fifth of the samples) */
    const real *restrict xs = p->x;
    real *restrict silu = p->silu, *restrict silu_slope = p->silu_slope;
    int nonfinite = 0;
    if (slopes) {
        for (int64_t j = 0; j < rows; j++) {
            const real v = xs[j], sigmoid = 1 / (1 + exponential(-v));
            silu[j] = v * sigmoid;
            silu_slope[j] = sigmoid;
            nonfinite |= v - v != 0;
        }
        for (int64_t j = 0; j < rows; j++) silu_slope[j] *= 1 + xs[j] * (1 - silu_slope[j]);
    } else
        for (int64_t j = 0; j < rows; j++) {
            const real v = xs[j];
            silu[j] = v * (1 / (1 + exponential(-v)));
            nonfinite |= v - v != 0;
        }
    if (!indexed) return nonfinite;
    for (int64_t q = 0; q <= k; q++) {
        real *restrict value = p->values + q * TILE, *restrict slope = p->slopes + q * TILE;
        int32_t *restrict index = p->index + q * TILE;
        for (int64_t j = 0; j < rows; j++) {
            const int32_t at = p->first[j] + (int32_t)q;
            const int inside = (at >= 0) & (at < size);
            index[j] = inside ? at : 0;
            value[j] = inside ? value[j] : 0;
            if (slopes) slope[j] = inside ? slope[j] : 0;
        }
    }
    return nonfinite;
}

/* A vector of LANES reals (64 bytes: one AVX-512 register, two AVX ones), read and written at any
 * alignment: GCC's and Clang's vector extension, so that a row's accumulators stay in registers
 * across the inputs of a block (plain loops over `out` reload them and check aliasing per input). */
#define LANES (64 / (int64_t)sizeof(real))
typedef real vec __attribute__((vector_size(64), aligned(sizeof(real)), may_alias));
#define AT(pointer) (*(vec *)(pointer))

/* The first n < LANES values at p as a vector (the others 0), and back, and the sum of a vector's
 * values: masked loads and stores and AVX-512's reduction where the CPU has them, else value by
 * value (through memory, several times slower). */
#if defined(__AVX512F__)
#if REAL_IS_DOUBLE
#define MASKED_LOAD(mask, p) ((vec)_mm512_maskz_loadu_pd((__mmask8)(mask), (p)))
#define MASKED_STORE(p, mask, v) _mm512_mask_storeu_pd((p), (__mmask8)(mask), (__m512d)(v))
#else
#define MASKED_LOAD(mask, p) ((vec)_mm512_maskz_loadu_ps((__mmask16)(mask), (p)))
#define MASKED_STORE(p, mask, v) _mm512_mask_storeu_ps((p), (__mmask16)(mask), (__m512)(v))
#endif
static inline vec load_part(const real *p, int64_t n) { return MASKED_LOAD((1u << n) - 1, p); }
static inline void store_part(real *p, vec v, int64_t n) { MASKED_STORE(p, (1u << n) - 1, v); }
#if REAL_IS_DOUBLE
static inline real horizontal_sum(vec v) { return _mm512_reduce_add_pd((__m512d)v); }
#else
static inline real horizontal_sum(vec v) { return _mm512_reduce_add_ps((__m512)v); }
#endif
#else
static inline real horizontal_sum(vec v) { /* in halves: a short chain of additions */
    for (int64_t half = LANES / 2; half > 0; half /= 2)
        for (int64_t l = 0; l < half; l++) v[l] += v[l + half];
    return v[0];
}
static inline vec load_part(const real *p, int64_t n) {
    vec v = {0};
    for (int64_t l = 0; l < n; l++) v[l] = p[l];
    return v;
}
static inline void store_part(real *p, vec v, int64_t n) {
    for (int64_t l = 0; l < n; l++) p[l] = v[l];
}
#endif

/* vectors of columns taken at a time (the forward's and the sweep's sums in registers), and the
 * columns at most that input_grads takes value by value rather than as a vector read past them */
#define GROUP 4
#define FEW 2

/* dx of one sample (dY = dy, patch entry j) and the patch's input (its rows of W from w):
 * grad_x = sum_q slope_q <W[row_q], dY> + silu' <W[size], dY>. */
static inline __attribute__((always_inline)) real input_grad(const real *restrict w, const real *restrict dy,
                                                             const Patch *p, int64_t j, int64_t out, int64_t size,
                                                             const int64_t k) {
    const int64_t vectors = out / LANES;
    vec dot = {0};
    real tail = 0;
    for (int64_t v = 0; v < vectors; v++) {
        vec sum = p->silu_slope[j] * AT(w + size * out + v * LANES);
        for (int64_t q = 0; q <= k; q++)
            sum += p->slopes[q * TILE + j] * AT(w + p->index[q * TILE + j] * out + v * LANES);
        dot += sum * AT(dy + v * LANES);
    }
    if (out - vectors * LANES <= FEW) /* a few columns: value by value */
        for (int64_t o = vectors * LANES; o < out; o++) {
            real sum = p->silu_slope[j] * w[size * out + o];
            for (int64_t q = 0; q <= k; q++) sum += p->slopes[q * TILE + j] * w[p->index[q * TILE + j] * out + o];
            tail += sum * dy[o];
        }
    else { /* the rest: one vector read past them (W and dY are padded) */
        const int64_t o = vectors * LANES;
        vec sum = p->silu_slope[j] * AT(w + size * out + o);
        for (int64_t q = 0; q <= k; q++) sum += p->slopes[q * TILE + j] * AT(w + p->index[q * TILE + j] * out + o);
        sum *= load_part(dy + o, out - o); /* 0 beyond the row */
        dot += sum;
    }
    if (vectors || out > FEW) tail += horizontal_sum(dot);
    return tail;
}

/* input_grad for the patch's `count` samples (dy and grad_x their first rows). */
static void input_grads(const real *w, const real *dy, const Patch *p, int64_t count, int64_t in, int64_t out,
                        int64_t size, real *grad_x, int64_t k) {
#define EACH(K) for (int64_t r = 0; r < count; r++) grad_x[r * in] = input_grad(w, dy + r * out, p, r, out, size, K)
    if (k == 3) EACH(3);
    else EACH(k);
#undef EACH
}

/* One input's dW (size + 1 rows of out) from its samples sorted by cell: order[start[b] ..
 * start[b + 1]) are the samples whose first B-spline is f = b - k (b = cells: outside the grid),
 * value[q * rows + n] = B_{f+q}(x_n) (0 where that B-spline does not exist), silu[n]. The bins go
 * in order with the k + 1 rows f .. f + k of dW summed in registers; row f is complete when bin f
 * ends, and is stored then, once. So each sample costs k + 2 multiply-adds per value of dY and no
 * store. GROUP vectors of columns at a time, then single vectors, then the rest value by value. */
/* the highest order the sweep takes (its registers are a fixed array, which the compiler keeps in
 * registers, where an array sized by k stays in memory) */
#define MOST_ORDER 7
static inline __attribute__((always_inline)) void sweep(real *restrict dw, const real *restrict dy,
                                                        const int32_t *restrict order,
                                                        const int64_t *restrict start,
                                                        const real *restrict value,
                                                        const real *restrict silu, int64_t rows,
                                                        int64_t out, int64_t cells, const int64_t k) {
    const int64_t size = cells - k;
    int64_t o = 0;
#define SWEEP(TYPE, WIDE, LOAD, STORE)                                                              \
    {                                                                                               \
        TYPE acc[MOST_ORDER + 1][WIDE], base[WIDE];                                                          \
        for (int g = 0; g < WIDE; g++) {                                                            \
            base[g] = (TYPE){0};                                                                    \
            for (int64_t q = 0; q <= k; q++) acc[q][g] = (TYPE){0};                                 \
        }                                                                                           \
        for (int64_t b = 0; b <= cells; b++) {                                                      \
            for (int64_t at = start[b]; at < start[b + 1]; at++) {                                  \
                const int64_t n = order[at];                                                        \
                TYPE grad[WIDE];                                                                    \
                for (int g = 0; g < WIDE; g++) grad[g] = LOAD(dy + n * out + o, g);                 \
                const real s = silu[n];                                                             \
                for (int g = 0; g < WIDE; g++) base[g] += s * grad[g];                              \
                if (b < cells)                                                                      \
                    for (int64_t q = 0; q <= k; q++) {                                              \
                        const real v = value[q * rows + n];                                         \
                        for (int g = 0; g < WIDE; g++) acc[q][g] += v * grad[g];                    \
                    }                                                                               \
            }                                                                                       \
            if (b >= cells) break;                                                                  \
            if (b >= k)                                                                             \
                for (int g = 0; g < WIDE; g++) STORE(dw + (b - k) * out + o, g, acc[0][g]);         \
            for (int64_t q = 0; q < k; q++)                                                         \
                for (int g = 0; g < WIDE; g++) acc[q][g] = acc[q + 1][g];                           \
            for (int g = 0; g < WIDE; g++) acc[k][g] = (TYPE){0};                                   \
        }                                                                                           \
        for (int g = 0; g < WIDE; g++) STORE(dw + size * out + o, g, base[g]);                      \
    }
#define VLOAD(pointer, g) AT((pointer) + (g) * LANES)
#define VSTORE(pointer, g, x) (AT((pointer) + (g) * LANES) = (x))
#define PSTORE(pointer, g, x) store_part((pointer), (x), out - o)
    for (; o + GROUP * LANES <= out; o += GROUP * LANES) SWEEP(vec, GROUP, VLOAD, VSTORE)
    for (; o + LANES <= out; o += LANES) SWEEP(vec, 1, VLOAD, VSTORE)
    if (o < out) SWEEP(vec, 1, VLOAD, PSTORE) /* the rest, read past (dY is padded), stored lane by lane */
#undef SWEEP
#undef VLOAD
#undef VSTORE
#undef PSTORE
}

static void sweep_any(real *dw, const real *dy, const int32_t *order, const int64_t *start, const real *value,
                      const real *silu, int64_t rows, int64_t out, int64_t cells, int64_t k) {
    if (k == 3) sweep(dw, dy, order, start, value, silu, rows, out, cells, 3);
    else if (k == 2) sweep(dw, dy, order, start, value, silu, rows, out, cells, 2);
    else if (k == 1) sweep(dw, dy, order, start, value, silu, rows, out, cells, 1);
    else sweep(dw, dy, order, start, value, silu, rows, out, cells, k);
}

/* *values replaced by a copy of its `count` reals with LANES zeros after them, when out is not a
 * whole number of vectors (the kernels then read a last vector past each row's end); else left as
 * it is (NULL too: PyTorch's empty tensors may have no memory). Returns 0 if out of memory. */
static int padded(const real **values, int64_t count, int64_t out, real **copy) {
    *copy = NULL;
    if (out % LANES == 0) return 1;
    *copy = malloc(sizeof(real) * (count + LANES));
    if (!*copy) return 0;
    if (count) memcpy(*copy, *values, sizeof(real) * count);
    memset(*copy + count, 0, sizeof(real) * LANES);
    *values = *copy;
    return 1;
}

/* The samples 0 .. rows - 1 sorted by their bin b = first[n] + k (cells where that is not in
 * 0 .. cells - 1: outside the grid), each bin's in increasing order: order[bins[b] .. bins[b + 1])
 * are the samples of bin b (bins: cells + 2 entries; order: room for 16 past its end). first is
 * scratch: with AVX-512 it is overwritten by the bins, found in one pass, and then a pass per bin
 * present compresses each vector of 16 samples' numbers into place; without, a
 * counting sort, which counts and places samples n = s (mod WAYS) apart (consecutive samples,
 * often in one bin, then do not wait for each other's count; start: (cells + 2) WAYS counts). */
#define WAYS 4
static void sort_by_cell(int32_t *first, int64_t rows, int64_t k, int64_t cells, int32_t *order, int64_t *bins,
                         int64_t *start) {
#if defined(__AVX512F__)
    (void)start;
    const __m512i shift = _mm512_set1_epi32((int32_t)k), outside = _mm512_set1_epi32((int32_t)cells);
    const __m512i lanes = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
#define LIVE(n) (rows - (n) >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (rows - (n))) - 1))
#define BIN_OF(n, live)                                                                           \
    const __mmask16 live = LIVE(n);                                                                 \
    __m512i bin = _mm512_add_epi32(_mm512_maskz_loadu_epi32(live, first + (n)), shift);             \
    bin = _mm512_mask_mov_epi32(bin, _mm512_cmplt_epi32_mask(bin, _mm512_setzero_si512())           \
                                         | _mm512_cmpge_epi32_mask(bin, outside), outside)
    __m512i low = outside, high = _mm512_setzero_si512();
    for (int64_t n = 0; n < rows; n += 16) { /* each sample's bin, in place of its first */
        BIN_OF(n, live);
        low = _mm512_mask_min_epi32(low, live, low, bin);
        high = _mm512_mask_max_epi32(high, live, high, bin);
        _mm512_mask_storeu_epi32(first + n, live, bin);
    }
    const int64_t lowest = rows ? _mm512_reduce_min_epi32(low) : cells, highest = _mm512_reduce_max_epi32(high);
    int64_t at = 0;
    for (int64_t b = 0; b <= cells + 1; b++) bins[b] = b <= lowest ? 0 : rows;
    for (int64_t b = lowest; b <= highest; b++) {
        bins[b] = at;
        const __m512i wanted = _mm512_set1_epi32((int32_t)b);
        for (int64_t n = 0; n < rows; n += 16) {
            const __mmask16 here = _mm512_mask_cmpeq_epi32_mask(LIVE(n), _mm512_loadu_si512(first + n), wanted);
            const __m512i numbers = _mm512_add_epi32(lanes, _mm512_set1_epi32((int32_t)n));
            _mm512_storeu_si512(order + at, _mm512_maskz_compress_epi32(here, numbers));
            at += __builtin_popcount((unsigned)here);
        }
    }
#undef BIN_OF
#undef LIVE
#else
    for (int64_t b = 0; b < (cells + 2) * WAYS; b++) start[b] = 0;
    for (int64_t n = 0; n < rows; n++) {
        const int64_t b = first[n] + k;
        start[(b >= 0 && b < cells ? b : cells) * WAYS + n % WAYS]++;
    }
    int64_t total = 0;
    for (int64_t b = 0; b < (cells + 1) * WAYS; b++) {
        const int64_t here = start[b];
        start[b] = total;
        total += here;
    }
    for (int64_t b = 0; b <= cells; b++) bins[b] = start[b * WAYS];
    bins[cells + 1] = rows;
    for (int64_t n = 0; n < rows; n++) {
        const int64_t b = first[n] + k;
        order[start[(b >= 0 && b < cells ? b : cells) * WAYS + n % WAYS]++] = (int32_t)n;
    }
#endif
}

/* y[n, :] += silu[n] W_i[size] + sum_q value_q[n] W_i[b - k + q] for the samples n of each bin b
 * of one input (order and bins as sort_by_cell gives them; value and silu as patch_values leaves
 * them), the bin's k + 2 rows of W_i in registers: GROUP vectors of columns at a time, then
 * single vectors, then the rest (W read past its end: it is padded). Rows b - k + q outside
 * 0 .. size - 1 are taken as zero (their values need not be), and the bin past the grid meets the
 * silu row alone. */
static inline __attribute__((always_inline)) void add_groups(real *restrict y, const real *restrict wi,
                                                             const int32_t *restrict order,
                                                             const int64_t *restrict bins,
                                                             const real *restrict value,
                                                             const real *restrict silu, int64_t out,
                                                             int64_t cells, const int64_t k) {
    const int64_t size = cells - k;
    int64_t o = 0;
#define GROUPS(WIDE, YLOAD, YSTORE)                                                                 \
    for (int64_t b = 0; b <= cells; b++) {                                                          \
        if (bins[b] == bins[b + 1]) continue;                                                       \
        vec rows[MOST_ORDER + 1][WIDE], base[WIDE];                                                 \
        for (int g = 0; g < WIDE; g++) base[g] = AT(wi + size * out + o + g * LANES);               \
        for (int64_t q = 0; q <= k; q++) {                                                          \
            const int64_t at = b - k + q;                                                           \
            const int live = at >= 0 && at < size;                                                  \
            for (int g = 0; g < WIDE; g++) rows[q][g] = live ? AT(wi + at * out + o + g * LANES) : (vec){0}; \
        }                                                                                           \
        for (int64_t at = bins[b]; at < bins[b + 1]; at++) {                                        \
            const int64_t n = order[at];                                                            \
            real *row = y + n * out + o;                                                            \
            vec acc[WIDE];                                                                          \
            for (int g = 0; g < WIDE; g++) acc[g] = YLOAD(row, g);                                  \
            const real s = silu[n];                                                                 \
            for (int g = 0; g < WIDE; g++) acc[g] += s * base[g];                                   \
            if (b < cells) /* (past the grid, de Boor's scheme sets no values) */                  \
                for (int64_t q = 0; q <= k; q++) {                                                  \
                    const real v = value[q * TILE + n];                                             \
                    for (int g = 0; g < WIDE; g++) acc[g] += v * rows[q][g];                        \
                }                                                                                   \
            for (int g = 0; g < WIDE; g++) YSTORE(row, g, acc[g]);                                  \
        }                                                                                           \
    }
#define VLOAD(pointer, g) AT((pointer) + (g) * LANES)
#define VSTORE(pointer, g, x) (AT((pointer) + (g) * LANES) = (x))
#define PLOAD(pointer, g) load_part((pointer), out - o)
#define PSTORE(pointer, g, x) store_part((pointer), (x), out - o)
    for (; o + GROUP * LANES <= out; o += GROUP * LANES) GROUPS(GROUP, VLOAD, VSTORE)
    for (; o + LANES <= out; o += LANES) GROUPS(1, VLOAD, VSTORE)
    if (o < out) GROUPS(1, PLOAD, PSTORE)
#undef GROUPS
#undef VLOAD
#undef VSTORE
#undef PLOAD
#undef PSTORE
}

static void add_groups_any(real *y, const real *wi, const int32_t *order, const int64_t *bins, const real *value,
                           const real *silu, int64_t out, int64_t cells, int64_t k) {
    if (k == 3) add_groups(y, wi, order, bins, value, silu, out, cells, 3);
    else if (k == 2) add_groups(y, wi, order, bins, value, silu, out, cells, 2);
    else if (k == 1) add_groups(y, wi, order, bins, value, silu, out, cells, 1);
    else add_groups(y, wi, order, bins, value, silu, out, cells, k);
}

/* bytes of a chunk's rows of y, GROUP vectors of columns of them: they stay in the L1 cache (16 and
 * 64 KiB made the [784, 64] layer's forward pass 1% and 9% slower on an Intel Xeon) */
#define CHUNK_BYTES (32 * 1024)
/* bytes of W rows in a block of inputs: every chunk takes a block before the next, so that W comes
 * from memory once and then from the L2 cache (with one block of all inputs, a training step of
 * batch 512 [784, 64, 10] took 2% longer on an Intel Xeon) */
#define BLOCK_BYTES (128 * 1024)

/* y (rows, out) = F(x) W for W (in, size + 1, out); matrix: M then D, as the features' kernels
 * take them. The samples go in chunks of CHUNK_BYTES (fewer when there would not be one for every
 * thread, but at least LANES), the inputs in blocks of BLOCK_BYTES. Returns 0, 1 if out of memory
 * or k > MOST_ORDER, 2 if x holds NaN or inf. */
int sparse_product(const real *x, const real *knots, const real *matrix, int uniform, int64_t rows,
                   int64_t in, int64_t cells, int64_t k, const real *w, int64_t out, real *y, int threads) {
    if (k > MOST_ORDER) return 1;
    if (in == 0 || out == 0) { /* an empty sum, or no sum */
        if (rows > 0 && out > 0) memset(y, 0, sizeof(real) * rows * out);
        return 0;
    }
    Grid grid = {knots, NULL, NULL, matrix, in, cells, k, uniform};
    const int64_t size = cells - k, width_w = (size + 1) * out;
    const int64_t workers = threads > 1 ? threads : 1, even = (rows + workers - 1) / workers;
    int64_t per = CHUNK_BYTES / (GROUP * 64);
    per = per > TILE ? TILE : per;
    per = even < per ? (even > LANES ? even : LANES) : per;
    const int64_t chunks = (rows + per - 1) / per, most = BLOCK_BYTES / (width_w * (int64_t)sizeof(real));
    const int64_t block = most > 1 ? most : 1;
    real *steps, *copy;
    if (!padded(&w, in * width_w, out, &copy)) return 1;
    if (!uniform_steps(&grid, &steps)) {
        free(copy);
        return 1;
    }
    int failed = 0;
#pragma omp parallel num_threads(threads) if (rows * in * (k + 2) * (out + 4) > 131072) reduction(| : failed)
    {
        Patch p = {0};
        int32_t *order = malloc(sizeof(int32_t) * (TILE + 16));
        int64_t *start = malloc(sizeof(int64_t) * ((cells + 2) * WAYS + cells + 2)), *bins = start + (cells + 2) * WAYS;
        const int ready = patch_alloc(&p, k) && order && start;
        failed = !ready;
        /* the same static schedule for every loop over chunks: a thread keeps its samples */
#pragma omp for schedule(static) nowait
        for (int64_t chunk = 0; chunk < chunks; chunk++) {
            const int64_t row = chunk * per, count = rows - row < per ? rows - row : per;
            memset(y + row * out, 0, sizeof(real) * count * out);
        }
        for (int64_t low = 0; low < in; low += block) {
            const int64_t high = in - low < block ? in : low + block;
#pragma omp for schedule(static) nowait
            for (int64_t chunk = 0; chunk < chunks; chunk++) {
                if (!ready) continue;
                const int64_t row = chunk * per, count = rows - row < per ? rows - row : per;
                for (int64_t i = low; i < high; i++) {
                    patch_steps(&grid, i, count, &p);
                    if (patch_values(x, in, &grid, row, count, i, 0, 0, &p)) failed |= 2;
                    sort_by_cell(p.first, count, k, cells, order, bins, start);
                    add_groups_any(y + row * out, w + i * width_w, order, bins, p.values, p.silu, out, cells, k);
                }
            }
        }
        patch_free(&p);
        free(order);
        free(start);
    }
    free(steps);
    free(copy);
    return failed;
}

/* dW (in, size + 1, out) and, if grad_x is not NULL, dx (rows, in) from dY (rows, out); W, matrix
 * as for sparse_product, then D. Input by input (a thread takes whole inputs): the values of all
 * samples in patches of TILE (and dx from the slopes), then the samples sorted by cell
 * (sort_by_cell) and dW swept (`sweep`). If c is not NULL, grad_w is not written: the inputs go in
 * blocks of at most EDGE_TILE, each block's dW in a thread's scratch, from which the parameters'
 * gradients follow at once (c, scale, mask and their gradients as for edge_weights_grad, in-major),
 * so that dW never goes to memory. Returns 0, or 1 if out of memory. */
int sparse_product_grad(const real *x, const real *knots, const real *matrix, int uniform, int64_t rows,
                        int64_t in, int64_t cells, int64_t k, const real *w, int64_t out, const real *grad,
                        real *grad_w, real *grad_x, const real *c, const real *scale, const real *mask, real *grad_c,
                        real *grad_scale, real *grad_base, int threads) {
    Grid grid = {knots, NULL, NULL, matrix, in, cells, k, uniform};
    const int64_t size = cells - k, width_w = (size + 1) * out;
    const int want_x = grad_x != NULL;
    if (k > MOST_ORDER) return 1;
    if (in == 0) return 0; /* dW and dx are empty */
    /* inputs per block: EDGE_TILE when the parameters' gradients are taken here (but blocks enough
     * for every thread), else 1 */
    const int64_t workers = threads > 1 ? threads : 1, even = (in + workers - 1) / workers;
    const int64_t block = !c ? 1 : even > EDGE_TILE ? EDGE_TILE : even;
    const int64_t blocks = (in + block - 1) / block;
    real *steps, *copy_w, *copy_grad;
    const int whole = padded(&w, in * width_w, out, &copy_w) & padded(&grad, rows * out, out, &copy_grad);
    if (!whole || !uniform_steps(&grid, &steps)) {
        free(copy_w);
        free(copy_grad);
        return 1;
    }
    int failed = 0;
#pragma omp parallel num_threads(threads) if (in > 1 && rows * in * (k + 2) * (out + 4) > 131072) \
    reduction(| : failed)
    {
        Patch p = {0};
        real *value = malloc(sizeof(real) * ((k + 2) * rows + (c ? block * width_w : 0) + 1)); /* (never malloc(0)) */
        int32_t *first = malloc(sizeof(int32_t) * (2 * rows + 16)); /* (order: 16 past its end) */
        int64_t *start = malloc(sizeof(int64_t) * ((cells + 2) * WAYS + cells + 2)), *bins = start + (cells + 2) * WAYS;
        const int ready = patch_alloc(&p, k) && value && first && start;
        real *silu = value + (k + 1) * rows, *dw_block = silu + rows;
        int32_t *order = first + rows;
        failed = !ready;
#pragma omp for schedule(static)
        for (int64_t b = 0; b < blocks; b++) {
            if (!ready) continue;
            const int64_t low = b * block, high = in - low < block ? in : low + block;
            for (int64_t i = low; i < high; i++) {
                const real *wi = w + i * width_w;
                for (int64_t row = 0; row < rows; row += TILE) {
                    const int64_t count = rows - row < TILE ? rows - row : TILE;
                    if (row == 0) patch_steps(&grid, i, count, &p);
                    patch_values(x, in, &grid, row, count, i, want_x, want_x, &p);
                    memcpy(first + row, p.first, sizeof(int32_t) * count);
                    memcpy(silu + row, p.silu, sizeof(real) * count);
                    for (int64_t q = 0; q <= k; q++)
                        memcpy(value + q * rows + row, p.values + q * TILE, sizeof(real) * count);
                    if (want_x)
                        input_grads(wi, grad + row * out, &p, count, in, out, size, grad_x + row * in + i, k);
                }
                sort_by_cell(first, rows, k, cells, order, bins, start);
                sweep_any(c ? dw_block + (i - low) * width_w : grad_w + i * width_w, grad, order, bins, value, silu,
                          rows, out, cells, k);
            }
            if (c) edge_grads_of(dw_block, c, scale, mask, in, size, out, low, high, grad_c, grad_scale, grad_base);
        }
        patch_free(&p); /* ready or not: the patch may be whole while another buffer failed */
        free(value);
        free(first);
        free(start);
    }
    free(steps);
    free(copy_w);
    free(copy_grad);
    return failed;
}

/* ------------------------------------------------------------------------------------------------
 * The product of a layer with few outputs (narrow_product, narrow_product_grad). A row of y is then
 * shorter than one vector, so these kernels vectorise over samples instead: a vector holds LANES
 * samples of one input, and on a uniform grid their cells, B-spline values and silu are computed in
 * registers, as uniform_cells, horner and `run` compute them value by value. They read the layer's
 * parameters themselves (c, scale, base, mask, as edge_weights does) and never form W: input i's
 * spline weights for output o, W[i, b, o] = c[o, i, b] scale[o, i] mask[o, i] for b < size, fit in
 * two vectors (size <= 2 LANES), from which each sample's k + 1 weights are picked by its
 * B-splines' indices (a permutation per vector of samples, no gather):
 *     y[s, o] = sum_i ( silu(x_si) W[i, size, o] + sum_q B_{f+q}(x_si) W[i, f + q, o] ),
 *     dx[s, i] = sum_o dY[s, o] ( silu'(x_si) W[i, size, o] + sum_q B'_{f+q}(x_si) W[i, f + q, o] ).
 * dW goes the other way, from the samples to the weights: the dense basis of each vector of samples,
 * B[b] = sum_q [f + q = b] B_{f+q}(x_si), by comparisons, then dW[i, b, o] = sum_s B[b][s] dY[s, o],
 * and from it the parameters' gradients (as edge_weights_grad). Forward: a thread takes whole
 * patches of TILE samples and adds the inputs in order. Backward: a thread takes whole patches too
 * (their rows of dx are its own), each patch's share of dW in a slot of its own, and then whole
 * inputs, whose slots it sums in the order of the patches. No result depends on the number of
 * threads. */

/* integers as wide as real, LANES of them: the indices of a vector of samples */
#if REAL_IS_DOUBLE
typedef int64_t lane_int;
#else
typedef int32_t lane_int;
#endif
typedef lane_int ivec __attribute__((vector_size(64), aligned(sizeof(lane_int)), may_alias));

static inline ivec load_index(const int32_t *p) {
    ivec v;
    for (int64_t l = 0; l < LANES; l++) v[l] = p[l];
    return v;
}

/* table[index[l] mod 2 LANES] for each lane l, table = the 2 LANES values of low and high. The
 * index of a B-spline that does not exist (value 0) runs from -k to 2 LANES + k - 1: taken modulo
 * 2 LANES, as GCC's __builtin_shuffle takes it, it still picks a value of the table. */
static inline vec pick(vec low, vec high, ivec index) {
#if defined(__GNUC__) && !defined(__clang__)
    return __builtin_shuffle(low, high, index);
#else
    vec v;
    for (int64_t l = 0; l < LANES; l++) {
        const lane_int at = index[l] & (2 * LANES - 1);
        v[l] = at < LANES ? low[at] : high[at - LANES];
    }
    return v;
#endif
}

/* a patch's count rounded up to whole vectors */
static int64_t whole_vectors(int64_t count) { return (count + LANES - 1) / LANES * LANES; }

/* a where mask (-1 or 0 per lane), else b */
static inline vec choose(ivec mask, vec a, vec b) { return (vec)(((ivec)a & mask) | ((ivec)b & ~mask)); }

/* e^x for a vector, as `exponential` computes it value by value */
static inline vec vector_exponential(vec x) {
#if REAL_IS_DOUBLE
    x = choose(x > -708.0, x, (vec){0} - 708.0);
    x = choose(x < 709.0, x, (vec){0} + 709.0);
    const vec shifted = x * 1.4426950408889634074 + 6755399441055744.0; /* 1.5 * 2^52 */
    const vec n = shifted - 6755399441055744.0;
    const vec r = x - n * 6.93145751953125e-1 - n * 1.42860682030941723212e-6, rr = r * r;
    const vec p = r * ((1.26177193074810590878e-4 * rr + 3.02994407707441961300e-2) * rr + 1.0);
    const vec q = ((3.00198505138664455042e-6 * rr + 2.52448340349684104192e-3) * rr
                   + 2.27265548208155028766e-1) * rr + 2.0;
    const ivec bits = ((ivec)shifted - 0x4338000000000000LL + 1023) << 52;
    return (1.0 + 2.0 * p / (q - p)) * (vec)bits;
#else
    x = choose(x > -87.0f, x, (vec){0} - 87.0f);
    x = choose(x < 88.0f, x, (vec){0} + 88.0f);
    const vec shifted = x * 1.44269504088896341f + 12582912.0f; /* 1.5 * 2^23 */
    const vec n = shifted - 12582912.0f;
    const vec r = x - n * 0.693359375f + n * 2.12194440e-4f;
    vec y = (vec){0} + 1.9875691500e-4f;
    y = y * r + 1.3981999507e-3f;
    y = y * r + 8.3334519073e-3f;
    y = y * r + 4.1665795894e-2f;
    y = y * r + 1.6666665459e-1f;
    y = y * r + 5.0000001201e-1f;
    const ivec bits = ((ivec)shifted - 0x4B400000 + 127) << 23;
    return (y * r * r + r + 1.0f) * (vec)bits;
#endif
}

/* What the kernels need of a vector of samples of one input: for q <= k, the index f + q of
 * B_{f+q} and its value (0 where that B-spline does not exist) and slope; silu and silu'. */
typedef struct {
    ivec at[MOST_ORDER + 1];
    vec value[MOST_ORDER + 1], slope[MOST_ORDER + 1], silu, silu_slope;
} Samples;

/* A uniform grid of one input: t_0, 1/h, the matrices M and D of the values and slopes. */
typedef struct {
    real start, scale, top, last;
    lane_int size;
    real m[(MOST_ORDER + 1) * (MOST_ORDER + 1)], d[MOST_ORDER * (MOST_ORDER + 1)];
} Uniform;

static void uniform_of(const Grid *grid, int64_t i, Uniform *u) {
    const int64_t k = grid->k;
    u->start = grid->start[i];
    u->scale = grid->scale[i];
    u->top = (real)(grid->cells - 1);
    u->last = (real)grid->cells;
    u->size = (lane_int)(grid->cells - k);
    memcpy(u->m, grid->matrix, sizeof(real) * (k + 1) * (k + 1));
    memcpy(u->d, grid->matrix + (k + 1) * (k + 1), sizeof(real) * k * (k + 1));
}

/* Samples v on a uniform grid, in registers (uniform_cells, horner and `run` for a vector: the same
 * operations); returns -1 in the lanes where v is NaN or inf. */
static inline __attribute__((always_inline)) ivec uniform_samples(vec v, const Uniform *g, int slopes,
                                                                  Samples *s, const int64_t k) {
    const vec zero = {0}, position = (v - g->start) * g->scale;
    const ivec ahead = position >= 0; /* NaN lands in cell 0, and is then outside */
    vec cell = choose(ahead, position, zero);
    cell = choose(cell < g->top, cell, zero + g->top);
    const ivec whole = __builtin_convertvector(cell, ivec), inside = ahead & (position <= g->last);
    const vec u = position - __builtin_convertvector(whole, vec);
    for (int64_t q = 0; q <= k; q++) {
        const ivec at = whole - (lane_int)k + (lane_int)q, live = inside & (at >= 0) & (at < g->size);
        vec value = zero + g->m[k * (k + 1) + q];
        for (int64_t power = k - 1; power >= 0; power--) value = value * u + g->m[power * (k + 1) + q];
        s->at[q] = at;
        s->value[q] = choose(live & (value > 0), value, zero);
        s->slope[q] = zero;
        if (slopes) {
            vec rate = zero + (k ? g->d[(k - 1) * (k + 1) + q] : 0);
            for (int64_t power = k - 2; power >= 0; power--) rate = rate * u + g->d[power * (k + 1) + q];
            s->slope[q] = choose(live, rate * g->scale, zero);
        }
    }
    const vec sigmoid = 1 / (1 + vector_exponential(-v));
    s->silu = v * sigmoid;
    s->silu_slope = zero;
    if (slopes) s->silu_slope = sigmoid * (1 + v * (1 - sigmoid));
    return (v - v) != 0;
}

/* The same from a patch that patch_values filled (any grid), samples at .. at + LANES - 1 */
static inline __attribute__((always_inline)) void loaded_samples(const Patch *p, int64_t at, int slopes,
                                                                 Samples *s, const int64_t k) {
    for (int64_t q = 0; q <= k; q++) {
        s->at[q] = load_index(p->index + q * TILE + at);
        s->value[q] = AT(p->values + q * TILE + at);
        s->slope[q] = slopes ? AT(p->slopes + q * TILE + at) : (vec){0};
    }
    s->silu = AT(p->silu + at);
    s->silu_slope = (vec){0};
    if (slopes) s->silu_slope = AT(p->silu_slope + at);
}

/* Input i's column of samples row .. row + count - 1 into p->x, zeros after it to TILE (a uniform
 * grid: the kernels compute the rest in registers); on any other grid, patch_values, with its
 * arrays zeroed after count. Returns 1 if x holds NaN or inf there (on a uniform grid, later). */
static int narrow_patch_values(const real *x, const Grid *grid, int64_t row, int64_t count, int64_t i, int slopes,
                               Patch *p) {
    if (grid->uniform) {
        for (int64_t s = 0; s < count; s++) p->x[s] = x[(row + s) * grid->in + i];
        for (int64_t s = count; s < TILE; s++) p->x[s] = 0;
        return 0;
    }
    const int nonfinite = patch_values(x, grid->in, grid, row, count, i, slopes, 1, p);
    for (int64_t s = count; s < TILE; s++) { /* (the sums over the patch run over all of it) */
        for (int64_t q = 0; q <= grid->k; q++) {
            p->values[q * TILE + s] = p->slopes[q * TILE + s] = 0;
            p->index[q * TILE + s] = 0;
        }
        p->silu[s] = p->silu_slope[s] = 0;
    }
    return nonfinite;
}

/* Input i's weights as tables of 2 LANES values, tables[o * 2 LANES + b] = W[i, b, o] for b < size
 * (0 after), and silu_w[o] = W[i, size, o]; c (out, in, size), scale, base and mask (out, in). */
static void column_tables(const real *c, const real *scale, const real *base, const real *mask, int64_t in,
                          int64_t i, int64_t size, int64_t out, real *tables, real *silu_w) {
    for (int64_t o = 0; o < out; o++) {
        const int64_t edge = o * in + i;
        const real live = scale[edge] * mask[edge];
        for (int64_t b = 0; b < 2 * LANES; b++) tables[o * 2 * LANES + b] = b < size ? c[edge * size + b] * live : 0;
        silu_w[o] = base[edge] * mask[edge];
    }
}

/* sum_q values_q W[i, at_q, o] for a vector of samples, table: W[i, :, o] */
static inline __attribute__((always_inline)) vec picked_sum(const vec *values, const ivec *at, const real *table,
                                                            const int64_t k) {
    const vec low = AT(table), high = AT(table + LANES);
    vec sum = {0};
    for (int64_t q = 0; q <= k; q++) sum += values[q] * pick(low, high, at[q]);
    return sum;
}

/* sums[o * TILE + s] += input i's share of y[s, o] for the patch's samples (g: its uniform grid, or
 * NULL for the values in p); returns 1 if its x holds NaN or inf */
static inline __attribute__((always_inline)) int narrow_patch(const Patch *p, const Uniform *g, const real *tables,
                                                              const real *silu_w, int64_t count, int64_t out,
                                                              real *sums, const int64_t k) {
    ivec nonfinite = {0};
    for (int64_t s = 0; s < whole_vectors(count); s += LANES) {
        Samples sm;
        if (g) nonfinite |= uniform_samples(AT(p->x + s), g, 0, &sm, k);
        else loaded_samples(p, s, 0, &sm, k);
        for (int64_t o = 0; o < out; o++)
            AT(sums + o * TILE + s) += sm.silu * silu_w[o] + picked_sum(sm.value, sm.at, tables + o * 2 * LANES, k);
    }
    int any = 0;
    for (int64_t l = 0; l < LANES; l++) any |= nonfinite[l] != 0;
    return any;
}

static int narrow_patch_any(const Patch *p, const Uniform *g, const real *tables, const real *silu_w, int64_t count,
                            int64_t out, real *sums, int64_t k) {
    if (k == 3) return narrow_patch(p, g, tables, silu_w, count, out, sums, 3);
    return narrow_patch(p, g, tables, silu_w, count, out, sums, k);
}

/* y (rows, out) = F(x) W (see above), W from c (out, in, size), scale, base, mask (out, in); matrix:
 * M then D (as narrow_product_grad); the other arguments as sparse_product's. Returns 0, 1 if out
 * of memory, 2 if x holds NaN or inf, 4 if size > 2 LANES or k > MOST_ORDER. */
int narrow_product(const real *x, const real *knots, const real *matrix, int uniform, int64_t rows, int64_t in,
                   int64_t cells, int64_t k, const real *c, const real *scale, const real *base, const real *mask,
                   int64_t out, real *y, int threads) {
    const int64_t size = cells - k, patches = (rows + TILE - 1) / TILE;
    if (size > 2 * LANES || k > MOST_ORDER) return 4;
    if (in == 0 || out == 0) { /* an empty sum, or no sum */
        if (rows > 0 && out > 0) memset(y, 0, sizeof(real) * rows * out);
        return 0;
    }
    Grid grid = {knots, NULL, NULL, matrix, in, cells, k, uniform};
    real *steps;
    if (!uniform_steps(&grid, &steps)) return 1;
    int failed = 0;
#pragma omp parallel num_threads(threads) if (rows * in * (k + 2) * (out + 4) > 131072) reduction(| : failed)
    {
        Patch p = {0};
        real *sums = malloc(sizeof(real) * out * (TILE + 2 * LANES + 1)), *tables = sums + out * TILE;
        real *silu_w = tables + out * 2 * LANES;
        const int ready = patch_alloc(&p, k) && sums;
        failed = !ready;
        Uniform g;
#pragma omp for schedule(static)
        for (int64_t patch = 0; patch < patches; patch++) {
            if (!ready) continue;
            const int64_t row = patch * TILE, count = rows - row < TILE ? rows - row : TILE;
            memset(sums, 0, sizeof(real) * out * TILE);
            for (int64_t i = 0; i < in; i++) {
                if (narrow_patch_values(x, &grid, row, count, i, 0, &p)) failed |= 2;
                if (uniform) uniform_of(&grid, i, &g);
                column_tables(c, scale, base, mask, in, i, size, out, tables, silu_w);
                if (narrow_patch_any(&p, uniform ? &g : NULL, tables, silu_w, count, out, sums, k)) failed |= 2;
            }
            for (int64_t o = 0; o < out; o++) /* (output-major: the reads go along the sums) */
                for (int64_t s = 0; s < count; s++) y[(row + s) * out + o] = sums[o * TILE + s];
        }
        patch_free(&p);
        free(sums);
    }
    free(steps);
    return failed;
}

/* dW[i] += the patch's share and, with grad_x, its dx (see above). dy: dY's rows of the patch,
 * output-major (output o at dy + o * stride), 0 from count to TILE, as the patch's values;
 * plane: room for the dense basis and silu, size + 1 planes of TILE. Each sum over the patch's
 * samples runs in four vectors of partial sums, so that the multiply-adds need not wait for each
 * other. */
static inline __attribute__((always_inline)) void narrow_patch_grad(const Patch *p, const Uniform *g,
                                                                    const real *tables, const real *silu_w,
                                                                    const real *dy, int64_t stride, int64_t count,
                                                                    int64_t in, int64_t out, int64_t size, real *dw,
                                                                    real *plane, real *grad_x, const int64_t k) {
    const int slopes = grad_x != NULL;
    for (int64_t s = 0; s < TILE; s += LANES) {
        Samples sm;
        if (g) uniform_samples(AT(p->x + s), g, slopes, &sm, k);
        else loaded_samples(p, s, slopes, &sm, k);
        for (int64_t b = 0; b < size; b++) {
            ivec basis = {0}; /* the bits of B[b]: at most one q matches */
            for (int64_t q = 0; q <= k; q++) basis |= (ivec)sm.value[q] & (sm.at[q] == (lane_int)b);
            AT(plane + b * TILE + s) = (vec)basis;
        }
        AT(plane + size * TILE + s) = sm.silu;
        if (!slopes || s >= count) continue;
        vec part[2] = {{0}, {0}}; /* two chains of additions, not one */
        for (int64_t o = 0; o < out; o++)
            part[o & 1] += AT(dy + o * stride + s) * (sm.silu_slope * silu_w[o]
                                                      + picked_sum(sm.slope, sm.at, tables + o * 2 * LANES, k));
        const vec total = part[0] + part[1];
        const int64_t lanes = count - s < LANES ? count - s : LANES;
        for (int64_t l = 0; l < lanes; l++) grad_x[(s + l) * in] = total[l];
    }
    for (int64_t b = 0; b <= size; b++)
        for (int64_t o = 0; o < out; o++) {
            const real *basis = plane + b * TILE, *grad = dy + o * stride;
            vec sum[4] = {{0}, {0}, {0}, {0}};
            for (int64_t s = 0; s < TILE; s += 4 * LANES)
                for (int r = 0; r < 4; r++) sum[r] += AT(basis + s + r * LANES) * AT(grad + s + r * LANES);
            dw[b * out + o] += horizontal_sum((sum[0] + sum[1]) + (sum[2] + sum[3]));
        }
}

static void narrow_patch_grad_any(const Patch *p, const Uniform *g, const real *tables, const real *silu_w,
                                  const real *dy, int64_t stride, int64_t count, int64_t in, int64_t out,
                                  int64_t size, real *dw, real *plane, real *grad_x, int64_t k) {
    if (k == 3) narrow_patch_grad(p, g, tables, silu_w, dy, stride, count, in, out, size, dw, plane, grad_x, 3);
    else narrow_patch_grad(p, g, tables, silu_w, dy, stride, count, in, out, size, dw, plane, grad_x, k);
}

/* The gradients of narrow_product from dY (rows, out): of c, scale and base (out, in, size) and
 * (out, in) as edge_weights_grad gives them, and, if grad_x is not NULL, dx (rows, in); matrix: M
 * then D. A thread takes whole patches of TILE samples: it lays out their rows of dY output-major
 * (padded with zeros to TILE) and, input by input, adds each patch's share of dW[i] into a slot of
 * its own. Then a thread takes whole inputs and sums their slots in the order of the patches, as one
 * thread would add them, so that no result depends on the number of threads; from each input's dW
 * follow its parameters' gradients. Returns 0, 1 if out of memory, 4 if size > 2 LANES or
 * k > MOST_ORDER (it does not check x: narrow_product has). */
int narrow_product_grad(const real *x, const real *knots, const real *matrix, int uniform, int64_t rows,
                        int64_t in, int64_t cells, int64_t k, const real *c, const real *scale, const real *base,
                        const real *mask, int64_t out, const real *grad, real *grad_c, real *grad_scale,
                        real *grad_base, real *grad_x, int threads) {
    const int64_t size = cells - k, patches = (rows + TILE - 1) / TILE, width = (size + 1) * out;
    if (size > 2 * LANES || k > MOST_ORDER) return 4;
    if (in == 0) return 0; /* no weights and no dx to take */
    Grid grid = {knots, NULL, NULL, matrix, in, cells, k, uniform};
    const int64_t slot_count = (patches > 0 ? patches : 1) * in * width; /* (an empty batch: one slot of zeros) */
    real *steps, *slots = malloc(sizeof(real) * (slot_count + 1)); /* (+ 1: never malloc(0)) */
    if (!slots || !uniform_steps(&grid, &steps)) {
        free(slots);
        return 1;
    }
    if (patches == 0) memset(slots, 0, sizeof(real) * slot_count);
    int failed = 0;
#pragma omp parallel num_threads(threads) if (rows * in * (k + 2) * (out + 4) > 131072) reduction(| : failed)
    {
        Patch p = {0};
        real *tables = malloc(sizeof(real) * (out * (2 * LANES + 1) + (size + 1 + out) * TILE + 1));
        real *silu_w = tables + out * 2 * LANES, *plane = silu_w + out, *dy = plane + (size + 1) * TILE;
        const int ready = patch_alloc(&p, k) && tables;
        failed = !ready;
        Uniform g;
#pragma omp for schedule(static)
        for (int64_t patch = 0; patch < patches; patch++) {
            if (!ready) continue;
            const int64_t row = patch * TILE, count = rows - row < TILE ? rows - row : TILE;
            for (int64_t o = 0; o < out; o++) {
                for (int64_t s = 0; s < count; s++) dy[o * TILE + s] = grad[(row + s) * out + o];
                for (int64_t s = count; s < TILE; s++) dy[o * TILE + s] = 0;
            }
            for (int64_t i = 0; i < in; i++) {
                real *dw = slots + (patch * in + i) * width;
                column_tables(c, scale, base, mask, in, i, size, out, tables, silu_w);
                if (uniform) uniform_of(&grid, i, &g);
                memset(dw, 0, sizeof(real) * width);
                narrow_patch_values(x, &grid, row, count, i, grad_x != NULL, &p);
                narrow_patch_grad_any(&p, uniform ? &g : NULL, tables, silu_w, dy, TILE, count, in, out, size, dw,
                                      plane, grad_x ? grad_x + row * in + i : NULL, k);
            }
        }
#pragma omp for schedule(static)
        for (int64_t i = 0; i < in; i++) {
            if (!ready) continue;
            real *dw = slots + i * width; /* patch 0's slot takes the sum over the patches */
            for (int64_t patch = 1; patch < patches; patch++)
                for (int64_t at = 0; at < width; at++) dw[at] += slots[(patch * in + i) * width + at];
            for (int64_t o = 0; o < out; o++) { /* as edge_weights_grad */
                const int64_t edge = o * in + i;
                const real live = scale[edge] * mask[edge];
                real total = 0;
                for (int64_t b = 0; b < size; b++) {
                    grad_c[edge * size + b] = dw[b * out + o] * live;
                    total += dw[b * out + o] * c[edge * size + b];
                }
                grad_scale[edge] = total * mask[edge];
                grad_base[edge] = dw[size * out + o] * mask[edge];
            }
        }
        patch_free(&p);
        free(tables);
    }
    free(steps);
    free(slots);
    return failed;
}
