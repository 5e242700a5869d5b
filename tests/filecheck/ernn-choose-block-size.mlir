// RUN: ernnc-opt %s --load-pass-plugin examples/custom_pass/choose_block_size.py -p 'ernn-choose-block-size{max-error=0.1 candidates=2,4},canonicalize,dce' | filecheck %s
// RUN: ernnc-opt %s --load-pass-plugin examples/custom_pass/choose_block_size.py -p 'ernn-choose-block-size{max-error=1.0 candidates=2}' | filecheck %s --check-prefix=LOOSE
// The example plugin (examples/custom_pass): W is circulant with one 4x4 block
// (first column .25, .5, .75, 1) but not with 2x2 blocks, so 4 is the largest
// block size within the bound; R has no such structure and stays dense. With
// the bound at 1.0 every matrix fits.

builtin.module {
  func.func @main(%0: tensor<?x?x4xf32> {onnx.name = "X", onnx.dims = ["T", "N", 4 : i64]}) -> (tensor<1x?x4xf32> {onnx.name = "Y_h", onnx.dims = [1 : i64, "N", 4 : i64]}) {
    %1 = arith.constant dense<[[2.500000e-01, 1.000000e+00, 7.500000e-01, 5.000000e-01], [5.000000e-01, 2.500000e-01, 1.000000e+00, 7.500000e-01], [7.500000e-01, 5.000000e-01, 2.500000e-01, 1.000000e+00], [1.000000e+00, 7.500000e-01, 5.000000e-01, 2.500000e-01]]> : tensor<4x4xf32>
    %2 = arith.constant dense<[[1.000000e-01, 0.000000e+00, 0.000000e+00, 0.000000e+00], [0.000000e+00, 0.000000e+00, 0.000000e+00, 5.000000e-01], [0.000000e+00, 3.000000e-01, 0.000000e+00, 0.000000e+00], [2.000000e-01, 0.000000e+00, 0.000000e+00, 0.000000e+00]]> : tensor<4x4xf32>
    %3, %4 = cell.scan %0 {kind = "rnn", layer = "layer0"} : tensor<?x?x4xf32> -> tensor<?x?x4xf32>, tensor<?x4xf32> {
    ^bb0(%5: tensor<?x4xf32>, %6: tensor<?x4xf32>):
      %7 = cell.matvec %1, %5 {matrix = "layer0.fwd.W", gates = ["i"]} : (tensor<4x4xf32>, tensor<?x4xf32>) -> tensor<?x4xf32>
      %8 = cell.matvec %2, %6 {matrix = "layer0.fwd.R", gates = ["i"]} : (tensor<4x4xf32>, tensor<?x4xf32>) -> tensor<?x4xf32>
      %9 = nn.add %7, %8 : (tensor<?x4xf32>, tensor<?x4xf32>) -> tensor<?x4xf32>
      %10 = nn.act %9 {fn = "Tanh"} : tensor<?x4xf32> -> tensor<?x4xf32>
      cell.yield %10 : tensor<?x4xf32>
    }
    %11 = nn.unsqueeze %4 {axes = array<i64: 0>} : tensor<?x4xf32> -> tensor<1x?x4xf32>
    func.return %11 : tensor<1x?x4xf32>
  }
}
// CHECK:      %[[W:.*]] = arith.constant dense<{{\[\[\[}}2.500000e-01, 5.000000e-01, 7.500000e-01, 1.000000e+00]]]> : tensor<1x1x4xf32>
// CHECK:      %[[R:.*]] = arith.constant {{.*}} : tensor<4x4xf32>
// CHECK:      ^bb0(%[[X:.*]]: tensor<?x4xf32>, %[[H:.*]]: tensor<?x4xf32>):
// CHECK-NEXT:   circ.matvec %[[W]], %[[X]] {matrix = "layer0.fwd.W", gates = ["i"], block = 4 : i64, rows = 4 : i64, cols = 4 : i64, rel_error = 0.000000e+00 : f64, exact}
// CHECK-NEXT:   cell.matvec %[[R]], %[[H]] {matrix = "layer0.fwd.R", gates = ["i"]}

// LOOSE:        circ.matvec {{.*}} {matrix = "layer0.fwd.W", gates = ["i"], block = 2 : i64, {{.*}} rel_error = {{[0-9.e+-]+}} : f64}
// LOOSE:        circ.matvec {{.*}} {matrix = "layer0.fwd.R", gates = ["i"], block = 2 : i64,
// LOOSE-NOT:    cell.matvec
