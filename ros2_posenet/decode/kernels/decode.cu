// GPU decoding of CMAP/PAF maps: steps 1-6 of docs/decoding.md in three launches.
// Compiled at run time by pycuda (which wraps this file in extern "C") with -fmad=false, and
// computed in double where the NumPy reference does, so both decoders pick the same people.
//
// Candidate table ``parts``: [K][max_parts][3] doubles = refined y, refined x, peak score.
// Connections: ``connection_pairs`` [L][max_parts][2] ints (candidate i of a, j of b) and
// ``connection_scores`` [L][max_parts] doubles, in the order the greedy assignment chose them.

#define MAX_PARTS_LIMIT 1024  // DecodeParams caps max_parts at 1000
#define SHARED_PAIRS 2048     // pairs above the threshold ranked in shared memory (more: in global memory)

// Steps 1-3, one block per keypoint type: local maxima above the threshold are compacted into
// ``scratch``, ranked by (value desc, raster index asc), cut to max_parts and refined.
__global__ void find_peaks(const float* __restrict__ cmap, int height, int width, float threshold,
                           int max_parts, int radius, int* __restrict__ scratch, int* __restrict__ counts,
                           double* __restrict__ parts)
{
    const int k = blockIdx.x;
    const int size = height * width;
    const float* map = cmap + (size_t)k * size;
    int* found = scratch + (size_t)k * size;
    __shared__ int total;
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

    const int n = total;
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
    if (threadIdx.x == 0) counts[k] = min(n, max_parts);
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
                            const int* __restrict__ link_keypoints, const int* __restrict__ counts,
                            const double* __restrict__ parts, int max_parts, int samples, double link_threshold,
                            double* __restrict__ tables, int* __restrict__ kept_pairs, int* __restrict__ order,
                            int* __restrict__ connection_counts, double* __restrict__ connection_scores,
                            int* __restrict__ connection_pairs)
{
    const int l = blockIdx.x;
    const int a = link_keypoints[2 * l], b = link_keypoints[2 * l + 1];
    const int na = counts[a], nb = counts[b];
    const size_t plane = (size_t)height * width;
    const float* paf_x = paf + 2 * l * plane;
    const float* paf_y = paf_x + plane;
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
        double sum = 0.0;
        for (int t = 0; t < samples; ++t) {
            const double f = (t + 0.5) / samples;
            const double x = xa + dx * f, y = ya + dy * f;
            sum += sample_map(paf_x, height, width, x, y) * dx + sample_map(paf_y, height, width, x, y) * dy;
        }
        const double score = length < 1e-6 ? 0.0 : (sum / samples) / length;
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
        sorted[rank] = q;
    }
    __syncthreads();

    if (threadIdx.x == 0) {
        const int limit = min(na, nb);
        int chosen = 0;
        for (int t = 0; t < m && chosen < limit; ++t) {
            const int q = sorted[t];
            const int i = q / nb, j = q - (q / nb) * nb;
            if (taken_a[i] || taken_b[j]) continue;
            taken_a[i] = taken_b[j] = 1;
            const size_t slot = (size_t)l * max_parts + chosen;
            connection_pairs[2 * slot] = i;
            connection_pairs[2 * slot + 1] = j;
            connection_scores[slot] = table[q];
            ++chosen;
        }
        connection_counts[l] = chosen;
    }
}


// Step 6 (docs/decoding.md), one block: the assembly rules of decode/assembly.py over the chosen
// connections, then scoring, filtering, ordering and the max_people cut. The connection walk is
// sequential by definition (thread 0, its state in shared memory); scoring and ranking are
// parallel. Where the state does not fit, header[1] = 1 and the host runs assembly.py instead.
// Output: header[0] people; per person its candidate per keypoint (-1 absent), score, link bits.
#define OWNER_CAP 4096       // keypoint types * max_parts
#define SLOT_CAP 8192        // people made from connections * keypoint types
#define CONNECTION_CAP 2048  // chosen connections of all links
#define MADE_CAP 512         // people made from connections

__device__ bool person_before(double score, double left, int key, double other_score, double other_left, int other_key)
{
    // Python's stable sort by (-score, leftmost x): creation order breaks the remaining ties.
    if (score != other_score) return score > other_score;
    if (left != other_left) return left < other_left;
    return key < other_key;
}

__global__ void assemble(int num_keypoints, int num_links, int max_parts, const int* __restrict__ link_keypoints,
                         const int* __restrict__ counts, const double* __restrict__ parts,
                         const int* __restrict__ connection_counts, const double* __restrict__ connection_scores,
                         const int* __restrict__ connection_pairs, int min_keypoints, double min_pose_score,
                         int max_people, double* __restrict__ entry_score, double* __restrict__ entry_left,
                         int* __restrict__ entry_key, int* __restrict__ header, int* __restrict__ people_slots,
                         double* __restrict__ people_scores, unsigned int* __restrict__ people_links)
{
    __shared__ short owner[OWNER_CAP];
    __shared__ short slots[SLOT_CAP];
    __shared__ short recorded[CONNECTION_CAP];
    __shared__ int connection_slot[CONNECTION_CAP];
    __shared__ short2 pair[CONNECTION_CAP];
    __shared__ short merged_into[MADE_CAP];
    __shared__ int first_connection[33], count_of[32], link_a[32], link_b[32];
    __shared__ int made, overflow, total, valid;
    const int K = num_keypoints;
    const int made_cap = min(MADE_CAP, SLOT_CAP / max(K, 1));

    for (int l = threadIdx.x; l < min(num_links, 32); l += blockDim.x) {
        first_connection[l + 1] = connection_counts[l];
        link_a[l] = link_keypoints[2 * l];
        link_b[l] = link_keypoints[2 * l + 1];
    }
    __syncthreads();
    if (threadIdx.x == 0) {
        made = 0;
        valid = 0;
        first_connection[0] = 0;
        for (int l = 1; l <= min(num_links, 32); ++l) first_connection[l] += first_connection[l - 1];
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
    for (int k = threadIdx.x; k < K; k += blockDim.x) count_of[k] = counts[k];
    for (int c = threadIdx.x; c < total; c += blockDim.x) {
        int l = 0;
        while (first_connection[l + 1] <= c) ++l;
        const int slot = l * max_parts + (c - first_connection[l]);
        connection_slot[c] = slot;
        pair[c] = make_short2(connection_pairs[2 * slot], connection_pairs[2 * slot + 1]);
        recorded[c] = -1;
    }
    __syncthreads();

    if (threadIdx.x == 0) {
        int c = 0;
        for (int l = 0; l < num_links && !overflow; ++l) {
            const int a = link_a[l], b = link_b[l];
            for (; c < first_connection[l + 1]; ++c) {
                const int i = pair[c].x, j = pair[c].y;
                const int ha = owner[a * max_parts + i], hb = owner[b * max_parts + j];
                if (ha < 0 && hb < 0) {
                    if (made == made_cap) {
                        overflow = 1;
                        break;
                    }
                    const int p = made++;
                    for (int k = 0; k < K; ++k) slots[p * K + k] = -1;
                    merged_into[p] = -1;
                    slots[p * K + a] = i;
                    slots[p * K + b] = j;
                    owner[a * max_parts + i] = p;
                    owner[b * max_parts + j] = p;
                    recorded[c] = p;
                } else if (hb < 0) {
                    if (slots[ha * K + b] < 0) {
                        slots[ha * K + b] = j;
                        owner[b * max_parts + j] = ha;
                        recorded[c] = ha;
                    }
                } else if (ha < 0) {
                    if (slots[hb * K + a] < 0) {
                        slots[hb * K + a] = i;
                        owner[a * max_parts + i] = hb;
                        recorded[c] = hb;
                    }
                } else if (ha == hb) {
                    recorded[c] = ha;
                } else {
                    bool overlap = false;
                    for (int k = 0; k < K && !overlap; ++k) overlap = slots[ha * K + k] >= 0 && slots[hb * K + k] >= 0;
                    if (!overlap) {
                        for (int k = 0; k < K; ++k) {
                            const int candidate = slots[hb * K + k];
                            if (candidate >= 0) {
                                slots[ha * K + k] = candidate;
                                owner[k * max_parts + candidate] = ha;
                            }
                        }
                        merged_into[hb] = ha;
                        recorded[c] = ha;
                    }
                }
            }
        }
        if (overflow) header[0] = 0, header[1] = 1;
    }
    __syncthreads();
    if (overflow) return;

    // A connection recorded for a person that was absorbed later belongs to the absorbing person.
    for (int c = threadIdx.x; c < total; c += blockDim.x) {
        int p = recorded[c];
        while (p >= 0 && merged_into[p] >= 0) p = merged_into[p];
        recorded[c] = p;
    }
    __syncthreads();

    // Entries in creation order: people made from connections, then every unowned candidate alone.
    const int entries = made + K * max_parts;
    for (int e = threadIdx.x; e < entries; e += blockDim.x) {
        int n = 0, m = 0;
        double sum = 0.0, left = 0.0, link_sum = 0.0;
        if (e < made) {
            if (merged_into[e] < 0) {
                for (int k = 0; k < K; ++k) {
                    const int candidate = slots[e * K + k];
                    if (candidate < 0) continue;
                    const double* row = parts + ((size_t)k * max_parts + candidate) * 3;
                    left = n == 0 ? row[1] : fmin(left, row[1]);
                    sum += row[2];
                    ++n;
                }
                for (int c = 0; c < total; ++c)
                    if (recorded[c] == e) {
                        link_sum += connection_scores[connection_slot[c]];
                        ++m;
                    }
            }
        } else {
            const int k = (e - made) / max_parts, candidate = (e - made) % max_parts;
            if (candidate < count_of[k] && owner[k * max_parts + candidate] < 0) {
                const double* row = parts + ((size_t)k * max_parts + candidate) * 3;
                left = row[1];
                sum = row[2];
                n = 1;
            }
        }
        double score = n > 0 ? sum / n : 0.0;
        if (m > 0) score += link_sum / m;
        if (n > 0 && n >= min_keypoints && !(score < min_pose_score)) {
            const int slot = atomicAdd(&valid, 1);  // compacted; the key keeps creation order for ties
            entry_score[slot] = score;
            entry_left[slot] = left;
            entry_key[slot] = e;
        }
    }
    __syncthreads();

    for (int v = threadIdx.x; v < valid; v += blockDim.x) {
        const double score = entry_score[v], left = entry_left[v];
        const int e = entry_key[v];
        int rank = 0;
        for (int u = 0; u < valid; ++u)
            rank += person_before(entry_score[u], entry_left[u], entry_key[u], score, left, e);
        if (rank >= max_people) continue;
        unsigned int bits = 0;
        if (e < made) {
            for (int k = 0; k < K; ++k) people_slots[rank * K + k] = slots[e * K + k];
            for (int c = 0; c < total; ++c)
                if (recorded[c] == e) bits |= 1u << (connection_slot[c] / max_parts);
        } else {
            for (int k = 0; k < K; ++k) people_slots[rank * K + k] = -1;
            people_slots[rank * K + (e - made) / max_parts] = (e - made) % max_parts;
        }
        people_scores[rank] = score;
        people_links[rank] = bits;
    }
    if (threadIdx.x == 0) header[0] = min(valid, max_people), header[1] = 0;
}
