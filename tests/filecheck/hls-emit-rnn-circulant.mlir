// RUN: ernnc-opt %s -p 'ernn-block-circulant{block=2},ernn-circulant-to-fft,ernn-quantize{precision="fixed<16,6>" activations="pwl:4"}' -t hls | filecheck %s
// The HLS backend on a quantized, block-circulant RNN: one FFT per block
// size and format, the frequency-domain MAC on raw weight tables, the fitted
// tanh as a helper, the time loop with the state on chip, pragmas behind
// ERNNC_PRAGMA, and the symbolic dims as arguments bounded by macros.

// CHECK-LABEL: // ---- ernnc_top.cpp ----
// CHECK:       static void [[FFT:fft2_[0-9]+]](const fx17_7 in_re[2], const fx17_7 in_im[2], fx18_8 out_re[2], fx18_8 out_im[2]) {
// CHECK:         fx17_7_rnd tr = (fx17_7_rnd)(re0[q] * TW_RE[0 + j] - im0[q] * TW_IM[0 + j]);
// CHECK-NOT:   static void fft2_
// CHECK:       static fx16_6 [[TANH:pwl_tanh_[0-9]+]](fx16_6 x) {
// CHECK:       void ernnc_top(const float in_X[ERNNC_MAX_T * ERNNC_MAX_N * 2], float out_Y_h[ERNNC_MAX_N * 2], int dim_T, int dim_N) {
// CHECK-NEXT:    ERNNC_PRAGMA(HLS INTERFACE m_axi port=in_X offset=slave bundle=gmem depth=256)
// CHECK:         ERNNC_PRAGMA(HLS INTERFACE s_axilite port=return)
// CHECK:         // element-wise: 1 op in one loop
// CHECK:           fx16_6 t{{[0-9]+}} = (fx16_6)(in_X[[[I:i[0-9]+]]] == in_X[[[I]]] ? in_X[[[I]]] : 0);  // fxp.cast X
// CHECK:         // ---- layer0 forward: RNN time loop, states on chip ----
// CHECK:         for (int s = 0; s < dim_T; s++) {
// CHECK:           // circ.rfft
// CHECK:           [[FFT]](re, im, fre, fim);
// CHECK:           // circ.mac layer0.fwd.W
// CHECK:           ar[pp][{{f[0-9]+}}] += ernnc_from_raw<fx16_6>(w_layer0_fwd_W_{{[0-9]+}}[
// CHECK:           // circ.mac layer0.fwd.R
// CHECK:           // circ.irfft
// CHECK:           [[FFT]](re, im, tre, tim);
// CHECK:           // element-wise: {{[0-9]+}} ops in one loop
// CHECK:           = [[TANH]](t{{[0-9]+}});  // fxp.pwl Tanh layer0.fwd.act
// CHECK:       // ---- ernnc_top.h ----
// CHECK:       #define ERNNC_MAX_N 1  // N
// CHECK:       #define ERNNC_MAX_T 128  // T
// CHECK:       typedef ap_fixed<16, 6> fx16_6;
// CHECK:       // ---- ernnc_top_weights.h ----
// CHECK:       // layer0.fwd.W: 1x1x2x2, fixed<16,6>
// CHECK-NEXT:  static const short w_layer0_fwd_W_{{[0-9]+}}[4] = {

builtin.module {
  func.func @main(%0: tensor<?x?x2xf32> {onnx.name = "X", onnx.dims = ["T", "N", 2 : i64]}) -> (tensor<1x?x2xf32> {onnx.name = "Y_h", onnx.dims = [1 : i64, "N", 2 : i64]}) {
    %1 = arith.constant dense<[[2.200000e-01, -1.700000e-01], [1.220000e+00, -1.300000e-01]]> : tensor<2x2xf32>
    %2 = arith.constant dense<[-5.100000e-01, -2.600000e-01]> : tensor<2xf32>
    %3 = arith.constant dense<[[5.000000e-02, 7.900000e-01], [-4.500000e-01, -3.000000e-01]]> : tensor<2x2xf32>
    %4, %5 = cell.scan %0 {kind = "rnn", layer = "layer0"} : tensor<?x?x2xf32> -> tensor<?x?x2xf32>, tensor<?x2xf32> {
    ^bb0(%6: tensor<?x2xf32>, %7: tensor<?x2xf32>):
      %8 = cell.matvec %1, %6 {matrix = "layer0.fwd.W", gates = ["i"]} : (tensor<2x2xf32>, tensor<?x2xf32>) -> tensor<?x2xf32>
      %9 = nn.add %8, %2 : (tensor<?x2xf32>, tensor<2xf32>) -> tensor<?x2xf32>
      %10 = cell.matvec %3, %7 {matrix = "layer0.fwd.R", gates = ["i"]} : (tensor<2x2xf32>, tensor<?x2xf32>) -> tensor<?x2xf32>
      %11 = nn.add %9, %10 : (tensor<?x2xf32>, tensor<?x2xf32>) -> tensor<?x2xf32>
      %12 = nn.act %11 {fn = "Tanh"} : tensor<?x2xf32> -> tensor<?x2xf32>
      cell.yield %12 : tensor<?x2xf32>
    }
    %13 = nn.unsqueeze %5 {axes = array<i64: 0>} : tensor<?x2xf32> -> tensor<1x?x2xf32>
    func.return %13 : tensor<1x?x2xf32>
  }
}
