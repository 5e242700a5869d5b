// RUN: ernnc-opt %s -p convert-ernn-to-cell,ernn-fuse-gates,canonicalize,dce | filecheck %s
// GRU with linear_before_reset=0 (reverse): R_h multiplies r * h, a different
// input, so it stays its own matvec; R_z and R_r share h and are fused.

builtin.module {
  func.func @main(%0: tensor<?x?x2xf32> {onnx.name = "X", onnx.dims = ["T", "N", 2 : i64]}) -> (tensor<1x?x2xf32> {onnx.name = "Y_h", onnx.dims = [1 : i64, "N", 2 : i64]}) {
    %1 = arith.constant dense<[[[-4.200000e-01, -6.000000e-02], [-2.140000e+00, 1.640000e+00], [-1.790000e+00, -8.400000e-01], [5.000000e-01, -1.250000e+00], [-1.060000e+00, -9.100000e-01], [5.500000e-01, 2.290000e+00]]]> : tensor<1x6x2xf32>
    %2 = arith.constant dense<[[[4.000000e-02, -1.120000e+00], [5.400000e-01, -6.000000e-01], [-2.000000e-02, 1.180000e+00], [-7.500000e-01, 1.000000e-02], [-8.800000e-01, -1.600000e-01], [2.600000e-01, -9.900000e-01]]]> : tensor<1x6x2xf32>
    %3 = arith.constant dense<[[-3.400000e-01, -2.400000e-01, -6.400000e-01, -1.190000e+00, -1.420000e+00, -1.500000e-01, -2.700000e-01, 2.230000e+00, -2.430000e+00, 1.100000e-01, 3.700000e-01, 1.360000e+00]]> : tensor<1x12xf32>
    %4, %5 = ernn.gru %0, %1, %2 bias(%3 : tensor<1x12xf32>) {hidden_size = 2 : i64, direction = "reverse", layout = 0 : i64, activations = ["Sigmoid", "Tanh"], layer = "layer0", onnx_node = "GRU_layer0", linear_before_reset = 0 : i64} : tensor<?x?x2xf32>, tensor<1x6x2xf32>, tensor<1x6x2xf32> -> tensor<?x1x?x2xf32>, tensor<1x?x2xf32>
    func.return %5 : tensor<1x?x2xf32>
  }
}

// CHECK:      cell.scan %0 {kind = "gru", layer = "layer0", reverse}
// CHECK-NEXT: ^bb0(%[[X:.*]]: tensor<?x2xf32>, %[[H:.*]]: tensor<?x2xf32>):
// CHECK-NEXT:   cell.matvec %{{.*}}, %[[X]] {matrix = "layer0.bwd.W", gates = ["z", "r", "h"]}
// CHECK:        cell.matvec %{{.*}}, %[[H]] {matrix = "layer0.bwd.R", gates = ["z", "r"]}
// CHECK:        nn.act %{{.*}} {fn = "Sigmoid"}
// CHECK:        %[[R:.*]] = nn.act %{{.*}} {fn = "Sigmoid"}
// CHECK-NEXT:   %[[RH:.*]] = nn.mul %[[R]], %[[H]]
// CHECK-NEXT:   cell.matvec %{{.*}}, %[[RH]] {matrix = "layer0.bwd.R", gates = ["h"]}
// CHECK:        cell.yield
