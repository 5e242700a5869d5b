// RUN: ernnc-opt %s -p 'ernn-quantize{precision="fixed<16,6,RND,SAT>"}' | filecheck %s
// A Gemm's transposed constant operand is transposed at compile time: the
// hardware reads the weights as stored, with no transpose at run time.

builtin.module {
  func.func @main(%0: tensor<?x3xf32> {onnx.name = "X", onnx.dims = ["N", 3 : i64]}) -> (tensor<?x2xf32> {onnx.name = "Y", onnx.dims = ["N", 2 : i64]}) {
    %1 = arith.constant dense<[[1.000000e+00, 2.000000e+00, 3.000000e+00], [4.000000e+00, 5.000000e+00, 6.000000e+00]]> : tensor<2x3xf32>
    %2 = arith.constant dense<[5.000000e-01, -5.000000e-01]> : tensor<2xf32>
    %3 = nn.gemm %0, %1, %2 {alpha = 1.000000e+00 : f32, beta = 1.000000e+00 : f32, trans_a = 0 : i64, trans_b = 1 : i64} : (tensor<?x3xf32>, tensor<2x3xf32>, tensor<2xf32>) -> tensor<?x2xf32>
    func.return %3 : tensor<?x2xf32>
  }
}

// CHECK:      %[[X:.*]] = fxp.cast %0
// CHECK:      %[[B:.*]] = fxp.constant dense<{{\[\[}}1024, 4096], [2048, 5120], [3072, 6144]]> : tensor<3x2xi16> {tensor = "gemm0.B"
// CHECK-NOT:  nn.transpose
// CHECK:      nn.matmul %[[X]], %[[B]]
// CHECK-NOT:  nn.transpose
// CHECK:      func.return
