// RUN: ernnc-opt %s -p 'ernn-calibrate{samples=2 steps=3}' | filecheck %s
// Calibration runs the float model (random inputs here) and records on each op
// the [min, max] of the values that quantization will cast.

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

// CHECK:      func.func @main
// CHECK-SAME:   attributes {ernn.range.args = [array<f64: [[XLO:.*]], [[XHI:.*]]>]}
// CHECK:      cell.scan %0 {ernn.range = [array<f64: {{.*}}>, array<f64: {{.*}}>], kind = "rnn", layer = "layer0"}
// CHECK:        cell.matvec %1, %{{.*}} {ernn.range = [array<f64: {{.*}}>], matrix = "layer0.fwd.W", gates = ["i"]}
// CHECK:        nn.act %{{.*}} {ernn.range = [array<f64: {{-0\.[0-9]+}}, {{0\.[0-9]+}}>], fn = "Tanh"}
