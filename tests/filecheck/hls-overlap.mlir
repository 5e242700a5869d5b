// RUN: ernnc-opt %s -p 'ernn-block-circulant{block=2},ernn-circulant-to-fft,ernn-quantize{precision="fixed<16,6>" activations="pwl:4"},ernn-schedule{device="z7020" clock=250.0}' -t hls | filecheck %s --check-prefix=OVL
// RUN: ernnc-opt %s -p 'ernn-block-circulant{block=2},ernn-circulant-to-fft,ernn-quantize{precision="fixed<16,6>" activations="pwl:4"},ernn-schedule{device="z7020" clock=250.0 overrides="overlap=0"}' -t hls | filecheck %s --check-prefix=SEQ
// The step's input stage (x_t in, its FFT, the MAC with W) overlaps the
// recurrence, as ernn-schedule chooses by default: two stage functions, a
// step function whose DATAFLOW region runs the input stage of step s + 1
// into one half of a ping-pong buffer beside the recurrent stage of step s
// reading the other half; the input stage of step 0 before the loop. The
// recurrent stage takes no step index here: nothing stores y or masks by
// sequence length.
// overlap=0 prints the stages one after another in the time loop.

// OVL-LABEL: // ---- ernnc_top.cpp ----
// OVL:       static void layer0_fwd_input(bool run, int t, const fx16_6 [[X:v[0-9]+]][ERNNC_MAX_T * ERNNC_MAX_N * 2], int dim_N, fx16_6 layer0_fwd_nxt0[ERNNC_MAX_N * 2 * 2]) {
// OVL-NEXT:      if (!run) return;
// OVL-NEXT:      static fx16_6 [[XT:x_t[0-9]+]][ERNNC_MAX_N * 2];
// OVL:           [[XT]][{{i[0-9]+}}] = [[X]][t * dim_N * 2 + {{i[0-9]+}}];
// OVL:           // circ.mac layer0.fwd.W
// OVL:           layer0_fwd_nxt0[{{i[0-9]+}}] = {{t[0-9]+}};
// OVL-NEXT:      }
// OVL-NEXT:  }
// OVL:       static void layer0_fwd_recurrent(const fx16_6 layer0_fwd_cur0[ERNNC_MAX_N * 2 * 2], fx16_6 [[STATE:state[0-9]+]][ERNNC_MAX_N * 2], int dim_N) {
// OVL-NOT:       layer0.fwd.W
// OVL:           // circ.mac layer0.fwd.R
// OVL:           layer0_fwd_cur0[
// OVL:           // the new states, where the sequence is still running, and y
// OVL:       static void layer0_fwd_step(bool run, int t_next, const fx16_6 [[X]][ERNNC_MAX_T * ERNNC_MAX_N * 2], int dim_N, fx16_6 layer0_fwd_nxt0[ERNNC_MAX_N * 2 * 2], const fx16_6 layer0_fwd_cur0[ERNNC_MAX_N * 2 * 2], fx16_6 [[STATE]][ERNNC_MAX_N * 2]) {
// OVL-NEXT:      ERNNC_PRAGMA(HLS DATAFLOW)
// OVL-NEXT:      layer0_fwd_input(run, t_next, [[X]], dim_N, layer0_fwd_nxt0);
// OVL-NEXT:      layer0_fwd_recurrent(layer0_fwd_cur0, [[STATE]], dim_N);
// OVL-NEXT:  }
// OVL:       void ernnc_top(
// OVL:           static fx16_6 [[PP:layer0_fwd_pingpong0]][2][ERNNC_MAX_N * 2 * 2];
// OVL-NEXT:      ERNNC_PRAGMA(HLS ARRAY_PARTITION variable=[[PP]] cyclic factor=4 dim=2)
// OVL-NEXT:      // the input stage of the first step, then dim_T overlapped steps
// OVL-NEXT:      layer0_fwd_input(dim_T > 0, 0, [[X]], dim_N, [[PP]][0]);
// OVL-NEXT:      for (int s = 0; s < dim_T; s++) {
// OVL-NEXT:          int t = s;
// OVL-NEXT:          layer0_fwd_step(s + 1 < dim_T, t + 1, [[X]], dim_N, [[PP]][(s + 1) & 1], [[PP]][s & 1], [[STATE]]);
// OVL-NEXT:      }

// SEQ-LABEL: // ---- ernnc_top.cpp ----
// SEQ-NOT:   DATAFLOW
// SEQ-NOT:   pingpong
// SEQ:       void ernnc_top(
// SEQ:           static fx16_6 [[XT:x_t[0-9]+]][ERNNC_MAX_N * 2];
// SEQ-NEXT:      ERNNC_PRAGMA(HLS ARRAY_PARTITION variable=[[XT]] cyclic factor=2)
// SEQ-NEXT:      for (int s = 0; s < dim_T; s++) {
// SEQ:               // circ.mac layer0.fwd.W
// SEQ:               // circ.mac layer0.fwd.R
// SEQ:               // the new states, where the sequence is still running, and y
// SEQ-NOT:   DATAFLOW
// SEQ-NOT:   pingpong
// SEQ-LABEL: // ---- ernnc_top_weights.h ----

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
