"""Canonicalization patterns of the ``nn`` dialect (run by ``canonicalize``)."""

from __future__ import annotations

from xdsl.pattern_rewriter import PatternRewriter, RewritePattern, op_type_rewrite_pattern

from . import nn


class SqueezeOfUnsqueeze(RewritePattern):
    """squeeze(unsqueeze(x, axes), axes) -> x"""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: nn.SqueezeOp, rewriter: PatternRewriter) -> None:
        inner = op.input.owner
        if isinstance(inner, nn.UnsqueezeOp) and sorted(inner.prop_values()["axes"]) == sorted(
            op.prop_values()["axes"]
        ):
            rewriter.replace(op, [], [inner.input])


class TransposeOfTranspose(RewritePattern):
    """transpose(transpose(x, p), q) -> transpose(x, p[q]), or x if that is the identity"""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: nn.TransposeOp, rewriter: PatternRewriter) -> None:
        inner = op.input.owner
        if not isinstance(inner, nn.TransposeOp):
            return
        p, q = inner.prop_values()["perm"], op.prop_values()["perm"]
        perm = [p[i] for i in q]
        if perm == list(range(len(perm))):
            rewriter.replace(op, [], [inner.input])
        else:
            rewriter.replace(op, [nn.TransposeOp(inner.input, perm=perm)])
