// A C entry point over trt_pose's C++ parser (trt_pose/parse/*.cpp), so benchmarks/cpu_decode.py can
// time it from Python with ctypes. Compiled together with trt_pose's own sources by
// scripts/build_trt_pose_parser.sh; a comparison tool, never part of the package.
// The calls are trt_pose's ParseObjects (parse_objects.py) in order: find peaks, refine them, score
// every candidate pair's PAF line integral, Munkres assignment per link, connect parts into objects.
#include <cstdlib>
#include <vector>

#include "connect_parts.hpp"
#include "find_peaks.hpp"
#include "munkres.hpp"
#include "paf_score_graph.hpp"
#include "refine_peaks.hpp"

using namespace trt_pose::parse;

extern "C" int trt_pose_parse(const float *cmap, const float *paf, const int *topology, int C, int K, int H, int W,
                              int M, int P, float cmap_threshold, float link_threshold, int window, int samples,
                              int *objects /* PxC */, int *counts /* C */, float *refined /* CxMx2 */)
{
    std::vector<int> peaks(C * M * 2);
    std::vector<float> score_graph(K * M * M);
    std::vector<int> connections(K * 2 * M, -1);  // -1: not connected, as trt_pose's plugins.cpp fills it
    find_peaks_out_chw(counts, peaks.data(), cmap, C, H, W, M, cmap_threshold, window);
    refine_peaks_out_chw(refined, counts, peaks.data(), cmap, C, H, W, M, window);
    paf_score_graph_out_khw(score_graph.data(), topology, paf, counts, refined, K, C, H, W, M, samples);
    std::vector<char> assignment_workspace(assignment_out_workspace(M));
    assignment_out_k(connections.data(), score_graph.data(), topology, counts, K, M, link_threshold,
                     assignment_workspace.data());
    std::vector<char> connect_workspace(connect_parts_out_workspace(C, M));
    int object_count = 0;
    connect_parts_out(&object_count, objects, connections.data(), topology, counts, K, C, M, P,
                      connect_workspace.data());
    return object_count;
}
