// GPU decoding of CMAP/PAF maps: steps 1-6 of docs/decoding.md in three launches.
// Compiled at run time by pycuda (which wraps this file in extern "C") with -fmad=false, and
// computed in double where the NumPy reference does, so both decoders pick the same people.
//
// Candidate table ``parts``: [K][max_parts][3] doubles = refined y, refined x, peak score.
// Connections: ``connection_pairs`` [L][max_parts][2] ints (candidate i of a, j of b) and
// ``connection_scores`` [L][max_parts] doubles, in the order the greedy assignment chose them.

#define MAX_PARTS_LIMIT 1024  // DecodeParams caps max_parts at 1000
#define SHARED_PAIRS 2048     // pairs above the threshold ranked in shared memory (more: in global memory)

// Step 3 with refine_sigma, for the peak at pixel (y, x): the window (clipped to the map) of
// max(map, 0) smoothed by a Gaussian of ``sigma`` at one of its 3x3 pixels, (y + dy, x + dx). As
// decode/cpu.py's _smoothing, the Gaussian is the product of its 1D factors along y and x.
__device__ double smoothed_window(const float* __restrict__ map, int height, int width, int y, int x, int radius,
                                  double sigma, int dy, int dx)
{
    const double scale = -0.5 / (sigma * sigma);
    double smoothed = 0.0;
    for (int yy = max(y - radius, 0); yy <= min(y + radius, height - 1); ++yy) {
        const double distance_y = (double)(yy - y) - dy, along_y = exp(distance_y * distance_y * scale);
        for (int xx = max(x - radius, 0); xx <= min(x + radius, width - 1); ++xx) {
            const double distance_x = (double)(xx - x) - dx;
            smoothed += fmax((double)map[yy * width + xx], 0.0) * (along_y * exp(distance_x * distance_x * scale));
        }
    }
    return smoothed;
}

// The shift in y and x to the vertex of the quadratic through the logs of a peak's 3x3 smoothed
// values ``logs[dy + 1][dx + 1]``, clipped to a pixel each way, as decode/cpu.py's _smoothed_maximum.
// Returns false (shift untouched) where that quadratic has no maximum.
__device__ bool smoothed_maximum(const double logs[3][3], double* shift_y, double* shift_x)
{
    const double centre = logs[1][1];
    const double gy = (logs[2][1] - logs[0][1]) * 0.5, gx = (logs[1][2] - logs[1][0]) * 0.5;
    const double hyy = logs[2][1] - 2.0 * centre + logs[0][1], hxx = logs[1][2] - 2.0 * centre + logs[1][0];
    const double hxy = (logs[2][2] - logs[2][0] - logs[0][2] + logs[0][0]) * 0.25;
    const double determinant = hyy * hxx - hxy * hxy;
    if (!(hyy < 0.0 && determinant > 0.0)) return false;
    *shift_y = fmin(fmax((hxy * gx - hxx * gy) / determinant, -1.0), 1.0);
    *shift_x = fmin(fmax((hxy * gy - hyy * gx) / determinant, -1.0), 1.0);
    return true;
}

#define SMOOTHING_LANES 16  // lanes per peak in the smoothed refinement: 9 smooth, lane 0 fits

// Steps 1-3, one block per keypoint type: local maxima above the threshold are compacted into
// ``scratch``, ranked by (value desc, raster index asc), cut to max_parts and refined to the
// window's centroid; with sigma > 0 then to the smoothed window's maximum, a peak's 9 smoothed
// values computed by 9 lanes of a half warp and gathered by shuffles (the centroid stays where the
// quadratic has no maximum).
__global__ void __launch_bounds__(1024)  // decode/cuda.py's PEAK_THREADS: at most 64 registers a thread
find_peaks(const float* __restrict__ cmap, int height, int width, float threshold, int max_parts, int radius,
           double sigma, int* __restrict__ scratch, int* __restrict__ counts, double* __restrict__ parts)
{
    const int k = blockIdx.x;
    const int size = height * width;
    const float* map = cmap + (size_t)k * size;
    int* found = scratch + (size_t)k * size;
    __shared__ int total;
    __shared__ int ranked[MAX_PARTS_LIMIT];  // pixel of the peak of each rank
    if (threadIdx.x == 0) total = 0;
    __syncthreads();

    for (int p = threadIdx.x; p < size; p += blockDim.x) {
        const float v = map[p];
        if (!(v > threshold)) continue;
        const int y = p / width, x = p - y * width;
        bool peak = true;
        for (int yy = max(y - 1, 0); yy <= min(y + 1, height - 1) && peak; ++yy)
            for (int xx = max(x - 1, 0); xx <= min(x + 1, width - 1); ++xx)
                if (map[yy * width + xx] > v) { peak = false; break; }
        if (peak) found[atomicAdd(&total, 1)] = p;
    }
    __syncthreads();

    const int n = total, kept = min(n, max_parts);
    for (int i = threadIdx.x; i < n; i += blockDim.x) {
        const int p = found[i];
        const float v = map[p];
        int rank = 0;
        for (int j = 0; j < n; ++j) {
            const int q = found[j];
            const float w = map[q];
            rank += (w > v) || (w == v && q < p);
        }
        if (rank >= max_parts) continue;
        ranked[rank] = p;
        const int y = p / width, x = p - y * width;
        double sum_w = 0.0, sum_x = 0.0, sum_y = 0.0;
        for (int yy = max(y - radius, 0); yy <= min(y + radius, height - 1); ++yy)
            for (int xx = max(x - radius, 0); xx <= min(x + radius, width - 1); ++xx) {
                const double w = fmax((double)map[yy * width + xx], 0.0);
                sum_w += w;
                sum_x += w * xx;
                sum_y += w * yy;
            }
        double* out = parts + ((size_t)k * max_parts + rank) * 3;
        out[0] = sum_y / sum_w;
        out[1] = sum_x / sum_w;
        out[2] = (double)v;
    }
    if (sigma > 0.0) {
        __syncthreads();  // ranked[] and the centroids are written
        const int lane = threadIdx.x % SMOOTHING_LANES;
        for (int start = 0; start < kept * SMOOTHING_LANES; start += blockDim.x) {  // the same trips in every warp
            const int rank = (start + threadIdx.x) / SMOOTHING_LANES;
            const bool valid = rank < kept;
            const int p = valid ? ranked[rank] : 0, y = p / width, x = p - y * width;
            double value = 1.0;
            if (valid && lane < 9)
                value = log(smoothed_window(map, height, width, y, x, radius, sigma, lane / 3 - 1, lane % 3 - 1));
            double logs[3][3];
            for (int c = 0; c < 9; ++c) logs[c / 3][c % 3] = __shfl_sync(0xffffffffu, value, c, SMOOTHING_LANES);
            double shift_y, shift_x;
            if (valid && lane == 0 && smoothed_maximum(logs, &shift_y, &shift_x)) {
                double* out = parts + ((size_t)k * max_parts + rank) * 3;
                out[0] = y + shift_y;
                out[1] = x + shift_x;
            }
        }
    }
    if (threadIdx.x == 0) counts[k] = kept;
}

// Bilinear PAF read with coordinates clamped to the map (docs/decoding.md step 4), in the
// same lerp form as the NumPy reference so both round alike.
__device__ double sample_map(const float* __restrict__ map, int height, int width, double x, double y)
{
    x = fmin(fmax(x, 0.0), (double)(width - 1));
    y = fmin(fmax(y, 0.0), (double)(height - 1));
    const int x0 = (int)floor(x), y0 = (int)floor(y);
    const int x1 = min(x0 + 1, width - 1), y1 = min(y0 + 1, height - 1);
    const double fx = x - x0, fy = y - y0;
    double top = map[y0 * width + x0];
    top += ((double)map[y0 * width + x1] - top) * fx;
    double bottom = map[y1 * width + x0];
    bottom += ((double)map[y1 * width + x1] - bottom) * fx;
    return top + (bottom - top) * fy;
}

// Steps 4-5, one block per link: every candidate pair's PAF line integral into ``tables``
// ([L][max_parts * max_parts], row-major n_a x n_b), then the greedy assignment of the pairs
// above the threshold, ranked by (score desc, i asc, j asc). The ranked pairs sit in shared
// memory when they fit, so the one thread that walks them greedily waits on no global loads.
__global__ void score_links(const float* __restrict__ paf, int height, int width,
                            const int* __restrict__ link_keypoints, const int* __restrict__ paf_channels,
                            const int* __restrict__ counts,
                            const double* __restrict__ parts, int max_parts, int samples, double link_threshold,
                            double sample_threshold, double min_aligned_fraction, int distance_prior,
                            double* __restrict__ tables, int* __restrict__ kept_pairs, int* __restrict__ order,
                            int* __restrict__ connection_counts, double* __restrict__ connection_scores,
                            int* __restrict__ connection_pairs)
{
    const int l = blockIdx.x;
    const int a = link_keypoints[2 * l], b = link_keypoints[2 * l + 1];
    const int na = counts[a], nb = counts[b];
    const size_t plane = (size_t)height * width;
    const float* paf_x = paf + paf_channels[2 * l] * plane;  // the network's x and y channels of link l
    const float* paf_y = paf + paf_channels[2 * l + 1] * plane;
    const double* parts_a = parts + (size_t)a * max_parts * 3;
    const double* parts_b = parts + (size_t)b * max_parts * 3;
    double* table = tables + (size_t)l * max_parts * max_parts;
    int* kept_global = kept_pairs + (size_t)l * max_parts * max_parts;
    int* order_global = order + (size_t)l * max_parts * max_parts;

    __shared__ int kept_count;
    __shared__ unsigned char taken_a[MAX_PARTS_LIMIT], taken_b[MAX_PARTS_LIMIT];
    __shared__ int kept_shared[SHARED_PAIRS], order_shared[SHARED_PAIRS];
    __shared__ double score_shared[SHARED_PAIRS];
    if (threadIdx.x == 0) kept_count = 0;
    for (int i = threadIdx.x; i < max_parts; i += blockDim.x) taken_a[i] = taken_b[i] = 0;
    __syncthreads();

    for (int q = threadIdx.x; q < na * nb; q += blockDim.x) {
        const int i = q / nb, j = q - (q / nb) * nb;
        const double ya = parts_a[3 * i], xa = parts_a[3 * i + 1];
        const double dy = parts_b[3 * j] - ya, dx = parts_b[3 * j + 1] - xa;
        const double length = sqrt(dy * dy + dx * dx);
        const double divisor = fmax(length, 1e-6);
        double sum = 0.0;
        int aligned = 0;
        for (int t = 0; t < samples; ++t) {  // the NumPy decoder's arithmetic, in its order
            const double f = (t + 0.5) / samples;
            const double x = xa + dx * f, y = ya + dy * f;
            const double along =
                (sample_map(paf_x, height, width, x, y) * dx + sample_map(paf_y, height, width, x, y) * dy) / divisor;
            sum += along;
            aligned += along > sample_threshold;
        }
        const double mean = sum / samples;
        const double prior = distance_prior ? fmin(0.0, 0.5 * height / divisor - 1.0) : 0.0;
        // OpenPose's criteria: enough aligned samples, and a positive mean once long links pay the prior
        const bool passes = length >= 1e-6 && aligned > min_aligned_fraction * samples && mean + prior > 0.0;
        const double score = passes ? mean : -INFINITY;
        table[q] = score;
        if (score > link_threshold) {
            const int slot = atomicAdd(&kept_count, 1);
            if (slot < SHARED_PAIRS) {
                kept_shared[slot] = q;
                score_shared[slot] = score;
            }
            kept_global[slot] = q;
        }
    }
    __syncthreads();

    const int m = kept_count;
    const bool in_shared = m <= SHARED_PAIRS;
    const int* kept = in_shared ? kept_shared : kept_global;
    int* sorted = in_shared ? order_shared : order_global;
    for (int t = threadIdx.x; t < m; t += blockDim.x) {
        const int q = kept[t];
        const double s = in_shared ? score_shared[t] : table[q];
        int rank = 0;
        for (int u = 0; u < m; ++u) {
            const int r = kept[u];
            const double v = in_shared ? score_shared[u] : table[r];
            rank += (v > s) || (v == s && r < q);
        }
        sorted[rank] = t;  // the kept slot: its score is read from shared memory below when it fits
    }
    __syncthreads();

    if (threadIdx.x == 0) {
        const int limit = min(na, nb);
        int chosen = 0;
        for (int r = 0; r < m && chosen < limit; ++r) {
            const int t = sorted[r], q = kept[t];
            const int i = q / nb, j = q - (q / nb) * nb;
            if (taken_a[i] || taken_b[j]) continue;
            taken_a[i] = taken_b[j] = 1;
            const size_t slot = (size_t)l * max_parts + chosen;
            connection_pairs[2 * slot] = i;
            connection_pairs[2 * slot + 1] = j;
            connection_scores[slot] = in_shared ? score_shared[t] : table[q];
            ++chosen;
        }
        connection_counts[l] = chosen;
    }
}


// Step 6 (docs/decoding.md), one block: the assembly rules of decode/assembly.py over the chosen
// connections, then scoring, filtering, ordering, the max_people cut and the finished people's
// rows. The connection walk (warp 0, its state in shared memory, each person's filled slots a bit
// mask so that the overlap test of a merge is one AND) gives the sequential walk's result with
// the connections of a link handled in parallel; scoring and ranking are parallel.
// Where the state does not fit, header[1] = 1 and the host runs assembly.py instead.
// Output, by rank: header[0] people; person r is PERSON_FIELDS doubles of `people`: the end of its
// rows (its keypoints are rows end[r-1]..end[r] of row_candidates, ids ascending, each the number of
// its candidate counted over all keypoint types in keypoint order), its link bits, score and box
// (left, top, right, bottom): one array, so that the host reads all of it in one call. Boxes are
// moved by x * scale_x + offset_x, y * scale_y + offset_y (scales > 0; 1 and 0 keep map pixels), as
// the host moves the candidates.
#define OWNER_CAP 4096       // keypoint types * max_parts
#define SLOT_CAP 8192        // people made from connections * keypoint types
#define CONNECTION_CAP 2048  // chosen connections of all links
#define MADE_CAP 512         // people made from connections
#define RANK_CAP 384         // people ranked in shared memory (more: in global memory)
#define PERSON_FIELDS 7      // per finished person: rows end, link bits, score, box (decode/cuda.py)

// A connection whose other end a person already holds: that person takes candidate `c` of keypoint
// `k` unless its slot `k` is filled, and records the link.
__device__ void join_person(int person, int k, int c, int K, int max_parts, short* slots, unsigned int* filled,
                            short* owner, short* recorded) {
    if (!(filled[person] & (1u << k))) {
        slots[person * K + k] = c;
        filled[person] |= 1u << k;
        owner[k * max_parts + c] = person;
        *recorded = person;
    }
}

// A connection between two people: `into` takes the keypoints of `from` (which is gone) unless
// their filled slots overlap, and records the link.
__device__ void merge_people(int into, int from, int K, int max_parts, short* slots, unsigned int* filled,
                             short* owner, short* merged_into, short* recorded) {
    if (filled[into] & filled[from]) return;
    for (unsigned int rest = filled[from]; rest; rest &= rest - 1) {
        const int k = __ffs(rest) - 1;
        const int candidate = slots[from * K + k];
        slots[into * K + k] = candidate;
        owner[k * max_parts + candidate] = into;
    }
    filled[into] |= filled[from];
    merged_into[from] = into;
    *recorded = into;
}

__device__ bool person_before(double score, double left, int key, double other_score, double other_left, int other_key)
{
    // Python's stable sort by (-score, leftmost x): creation order breaks the remaining ties.
    if (score != other_score) return score > other_score;
    if (left != other_left) return left < other_left;
    return key < other_key;
}

// The sum of `value` over the warp's lanes, on every lane (shuffles: sm_72 Jetsons have no __reduce_add_sync).
__device__ int warp_sum(int value)
{
    for (int step = 16; step > 0; step /= 2) value += __shfl_xor_sync(0xffffffffu, value, step);
    return value;
}

__global__ void __launch_bounds__(1024)
assemble(int num_keypoints, int num_links, int max_parts, const int* __restrict__ link_keypoints,
         const int* __restrict__ counts, const double* __restrict__ parts, const int* __restrict__ connection_counts,
         const double* __restrict__ connection_scores, const int* __restrict__ connection_pairs, int min_keypoints,
         double min_pose_score, int complete_min_keypoints, double complete_min_score, unsigned int torso_neck,
         unsigned int torso_hips, int max_people, double scale_x, double offset_x, double scale_y, double offset_y,
         double* __restrict__ entry_score, double* __restrict__ entry_left,
         int* __restrict__ entry_key, unsigned char* __restrict__ entry_size, double* __restrict__ person_link_scores,
         int* __restrict__ header, double* __restrict__ people, int* __restrict__ row_candidates)
{
    __shared__ short owner[OWNER_CAP];
    __shared__ short slots[SLOT_CAP];
    __shared__ short recorded[CONNECTION_CAP];
    __shared__ short connection_slot[CONNECTION_CAP];  // link * max_parts + index: < 32 * 1000
    // The walk's (i, j) pairs; once it is done, the same bytes hold the people being ranked.
    __shared__ double pool[CONNECTION_CAP / 2];
    __shared__ short merged_into[MADE_CAP];
    __shared__ unsigned int filled[MADE_CAP], link_bits[MADE_CAP];
    __shared__ int last_link_seen[MADE_CAP];  // the last link whose connections touched each person
    __shared__ int first_connection[33], count_of[32], first_candidate[32], link_a[32], link_b[32];
    __shared__ int made, overflow, total, valid;
    short2* pair = reinterpret_cast<short2*>(pool);
    double* rank_score = pool;
    double* rank_left = pool + RANK_CAP;
    int* rank_key = reinterpret_cast<int*>(pool + 2 * RANK_CAP);
    unsigned char* rank_size = reinterpret_cast<unsigned char*>(rank_key + RANK_CAP);
    const int K = num_keypoints;
    const int made_cap = min(MADE_CAP, SLOT_CAP / max(K, 1));

    for (int l = threadIdx.x; l < min(num_links, 32); l += blockDim.x) {
        first_connection[l + 1] = connection_counts[l];
        link_a[l] = link_keypoints[2 * l];
        link_b[l] = link_keypoints[2 * l + 1];
    }
    for (int k = threadIdx.x; k < min(K, 32); k += blockDim.x) count_of[k] = counts[k];
    __syncthreads();
    if (threadIdx.x == 0) {
        made = 0;
        valid = 0;
        first_connection[0] = 0;
        for (int l = 1; l <= min(num_links, 32); ++l) first_connection[l] += first_connection[l - 1];
        first_candidate[0] = 0;  // candidates numbered keypoint by keypoint, as the host lists them
        for (int k = 1; k < min(K, 32); ++k) first_candidate[k] = first_candidate[k - 1] + count_of[k - 1];
        total = first_connection[min(num_links, 32)];
        overflow = K * max_parts > OWNER_CAP || K > 32 || num_links > 32 || total > CONNECTION_CAP;
    }
    __syncthreads();
    if (overflow) {
        if (threadIdx.x == 0) header[0] = 0, header[1] = 1;
        return;
    }
    // Everything the sequential walk reads goes to shared memory first, in parallel.
    for (int t = threadIdx.x; t < K * max_parts; t += blockDim.x) owner[t] = -1;
    for (int t = threadIdx.x; t < made_cap * K; t += blockDim.x) slots[t] = -1;
    for (int p = threadIdx.x; p < made_cap; p += blockDim.x) {
        merged_into[p] = -1;
        filled[p] = link_bits[p] = 0;
        last_link_seen[p] = -1;
    }
    for (int c = threadIdx.x; c < total; c += blockDim.x) {
        int l = 0;
        while (first_connection[l + 1] <= c) ++l;
        const int slot = l * max_parts + (c - first_connection[l]);
        connection_slot[c] = slot;
        pair[c] = make_short2(connection_pairs[2 * slot], connection_pairs[2 * slot + 1]);
        recorded[c] = -1;
    }
    __syncthreads();

    // The walk, by warp 0. Within a link no two connections share a candidate, so when no person
    // holds candidates of two of the link's connections, each connection touches only its own
    // people and all of them go in parallel, merges included (a new person's number is its rank
    // among the new people, in connection order). When some person does (it already has both
    // keypoints of the link), the connections up to the next merge go in parallel and each merge
    // on its own, in connection order.
    if (threadIdx.x < 32) {
        const unsigned int all = 0xffffffffu;
        const int lane = threadIdx.x;
        int people = 0;
        bool full = false;
        for (int l = 0; l < num_links && !full; ++l) {
            const int a = link_a[l], b = link_b[l];
            const unsigned int bit_a = 1u << a, bit_b = 1u << b;
            const int begin = first_connection[l], end = first_connection[l + 1];
            bool shared_holder = false;
            for (int first = begin; first < end; first += 32) {
                const int t = first + lane;
                bool seen_before = false;
                if (t < end) {
                    const int ha = owner[a * max_parts + pair[t].x], hb = owner[b * max_parts + pair[t].y];
                    if (ha >= 0) seen_before = atomicExch(&last_link_seen[ha], l) == l;
                    if (hb >= 0 && hb != ha) seen_before |= atomicExch(&last_link_seen[hb], l) == l;
                }
                shared_holder |= __ballot_sync(all, seen_before) != 0;
            }
            for (int c = begin; c < end && !full;) {
                int stop = end;  // with a shared holder: the next merge
                for (int first = c; shared_holder && first < stop; first += 32) {
                    const int t = first + lane;
                    bool merge = false;
                    if (t < end) {
                        const int ha = owner[a * max_parts + pair[t].x], hb = owner[b * max_parts + pair[t].y];
                        merge = ha >= 0 && hb >= 0 && ha != hb;
                    }
                    const unsigned int merges = __ballot_sync(all, merge);
                    if (merges) stop = first + __ffs(merges) - 1;
                }
                for (int first = c; first < stop; first += 32) {
                    const int t = first + lane;
                    const bool active = t < stop;
                    int i = 0, j = 0, ha = -1, hb = -1;
                    if (active) {
                        i = pair[t].x;
                        j = pair[t].y;
                        ha = owner[a * max_parts + i];
                        hb = owner[b * max_parts + j];
                    }
                    const bool fresh = active && ha < 0 && hb < 0;
                    const unsigned int fresh_lanes = __ballot_sync(all, fresh);
                    if (people + __popc(fresh_lanes) > made_cap) {
                        full = true;
                        break;
                    }
                    if (fresh) {
                        const int p = people + __popc(fresh_lanes & ((1u << lane) - 1));
                        slots[p * K + a] = i;
                        slots[p * K + b] = j;
                        filled[p] = bit_a | bit_b;
                        owner[a * max_parts + i] = p;
                        owner[b * max_parts + j] = p;
                        recorded[t] = p;
                    } else if (active && hb < 0) {
                        join_person(ha, b, j, K, max_parts, slots, filled, owner, recorded + t);
                    } else if (active && ha < 0) {
                        join_person(hb, a, i, K, max_parts, slots, filled, owner, recorded + t);
                    } else if (active && ha != hb) {  // only without a shared holder
                        merge_people(ha, hb, K, max_parts, slots, filled, owner, merged_into, recorded + t);
                    } else if (active) {
                        recorded[t] = ha;  // both held by one person
                    }
                    people += __popc(fresh_lanes);
                    __syncwarp();
                }
                if (full || stop == end) break;
                if (lane == 0) {
                    const int ha = owner[a * max_parts + pair[stop].x], hb = owner[b * max_parts + pair[stop].y];
                    merge_people(ha, hb, K, max_parts, slots, filled, owner, merged_into, recorded + stop);
                }
                __syncwarp();
                c = stop + 1;
            }
        }
        if (lane == 0) {
            made = people;
            overflow = full;
            if (full) header[0] = 0, header[1] = 1;
        }
    }
    __syncthreads();
    if (overflow) return;

    // A connection recorded for a person that was absorbed later belongs to the absorbing person.
    // A person records at most one connection per link (its slots never change once filled), so
    // its link scores are kept by link: [person][32], in link order, which is connection order.
    for (int c = threadIdx.x; c < total; c += blockDim.x) {
        int p = recorded[c];
        while (p >= 0 && merged_into[p] >= 0) p = merged_into[p];
        if (p < 0) continue;
        const int l = connection_slot[c] / max_parts;
        person_link_scores[p * 32 + l] = connection_scores[connection_slot[c]];
        atomicOr(&link_bits[p], 1u << l);
    }
    __syncthreads();

    // Entries in creation order: people made from connections (one warp each, a lane per keypoint
    // and per link, summed in keypoint and link order as the host does), then every unowned
    // candidate alone (one thread each).
    const int lane = threadIdx.x % 32;
    for (int e = threadIdx.x / 32; e < made; e += blockDim.x / 32) {
        if (merged_into[e] >= 0) continue;
        const int candidate = lane < K ? slots[e * K + lane] : -1;
        double row_x = 0.0, row_score = 0.0;
        if (candidate >= 0) {
            const double* row = parts + ((size_t)lane * max_parts + candidate) * 3;
            row_x = row[1];
            row_score = row[2];
        }
        int n = 0, m = 0;
        double sum = 0.0, left = 0.0, link_sum = 0.0;
        const unsigned int present = __ballot_sync(0xffffffffu, candidate >= 0);
        for (unsigned int rest = present; rest; rest &= rest - 1) {
            const int k = __ffs(rest) - 1;
            const double x = __shfl_sync(0xffffffffu, row_x, k);
            left = n == 0 ? x : fmin(left, x);
            sum += __shfl_sync(0xffffffffu, row_score, k);
            ++n;
        }
        const unsigned int bits = link_bits[e];
        const double link_score = bits >> lane & 1 ? person_link_scores[e * 32 + lane] : 0.0;
        for (unsigned int rest = bits; rest; rest &= rest - 1) {
            link_sum += __shfl_sync(0xffffffffu, link_score, __ffs(rest) - 1);
            ++m;
        }
        double score = sum / n;
        if (m > 0) score += link_sum / m;
        // The person filter (DecodeParams; assembly._kept on the host): strong, or complete with a torso.
        const bool has_torso = (present & torso_neck) == torso_neck && (torso_hips == 0 || (present & torso_hips));
        const bool kept = n >= min_keypoints &&
                          (!(score < min_pose_score) || (complete_min_keypoints > 0 && n >= complete_min_keypoints &&
                                                         has_torso && !(score < complete_min_score)));
        if (lane == 0 && kept) {
            const int slot = atomicAdd(&valid, 1);  // compacted; the key keeps creation order for ties
            entry_score[slot] = score;
            entry_left[slot] = left;
            entry_key[slot] = e;
            entry_size[slot] = n;
            if (slot < RANK_CAP) {
                rank_score[slot] = score;
                rank_left[slot] = left;
                rank_key[slot] = e;
                rank_size[slot] = n;
            }
        }
    }
    for (int t = threadIdx.x; t < K * max_parts; t += blockDim.x) {
        const int k = t / max_parts, candidate = t % max_parts;
        if (candidate >= count_of[k] || owner[t] >= 0) continue;
        const double* row = parts + ((size_t)k * max_parts + candidate) * 3;
        const double score = row[2];
        if (min_keypoints <= 1 && !(score < min_pose_score)) {
            const int slot = atomicAdd(&valid, 1);
            entry_score[slot] = score;
            entry_left[slot] = row[1];
            entry_key[slot] = made + t;
            entry_size[slot] = 1;
            if (slot < RANK_CAP) {
                rank_score[slot] = score;
                rank_left[slot] = row[1];
                rank_key[slot] = made + t;
                rank_size[slot] = 1;
            }
        }
    }
    __syncthreads();

    // Each kept person, one warp each, finds its rank and, from the sizes of the people before it,
    // its first row (lanes split the people before it); lane k writes keypoint k's row, in id order,
    // and the box (their extent) is a warp reduction. One thread per person walking its keypoints
    // waited on each global load in turn: 4 of the kernel's 21 us on the H200.
    const int ranked = valid;
    const bool in_shared = ranked <= RANK_CAP;
    const double* scores = in_shared ? rank_score : entry_score;
    const double* lefts = in_shared ? rank_left : entry_left;
    const int* keys = in_shared ? rank_key : entry_key;
    const unsigned char* sizes = in_shared ? rank_size : entry_size;
    for (int v = threadIdx.x / 32; v < ranked; v += blockDim.x / 32) {
        const double score = scores[v], left = lefts[v];
        const int e = keys[v];
        int rank = 0, row = 0;
        for (int u = lane; u < ranked; u += 32) {
            const bool before = person_before(scores[u], lefts[u], keys[u], score, left, e);
            rank += before;
            row += before ? sizes[u] : 0;
        }
        rank = warp_sum(rank);
        row = warp_sum(row);
        if (rank >= max_people) continue;
        const int lone_keypoint = e < made ? -1 : (e - made) / max_parts;
        int candidate = -1;
        if (lane < K) candidate = e < made ? slots[e * K + lane] : (lane == lone_keypoint ? (e - made) % max_parts : -1);
        const unsigned int present = __ballot_sync(0xffffffffu, candidate >= 0);
        double x = INFINITY, y = INFINITY, right = -INFINITY, bottom = -INFINITY;
        if (candidate >= 0) {
            const double* part = parts + ((size_t)lane * max_parts + candidate) * 3;
            y = part[0] * scale_y + offset_y;
            x = part[1] * scale_x + offset_x;
            right = x;
            bottom = y;
            row_candidates[row + __popc(present & ((1u << lane) - 1))] = first_candidate[lane] + candidate;
        }
        for (int step = 16; step > 0; step /= 2) {  // min and max are exact: any order gives the same box
            x = fmin(x, __shfl_xor_sync(0xffffffffu, x, step));
            y = fmin(y, __shfl_xor_sync(0xffffffffu, y, step));
            right = fmax(right, __shfl_xor_sync(0xffffffffu, right, step));
            bottom = fmax(bottom, __shfl_xor_sync(0xffffffffu, bottom, step));
        }
        if (lane == 0) {
            double* person = people + PERSON_FIELDS * rank;
            person[0] = row + __popc(present);
            person[1] = e < made ? link_bits[e] : 0;
            person[2] = score;
            person[3] = x;  // left, top, right, bottom
            person[4] = y;
            person[5] = right;
            person[6] = bottom;
        }
    }
    if (threadIdx.x == 0) header[0] = min(ranked, max_people), header[1] = 0;
}
