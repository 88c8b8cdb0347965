from llvmlite import ir
from numba import types
from numba.extending import intrinsic


@intrinsic
def cycles(typingctx):
    def codegen(context, builder, signature, args):
        fn = builder.module.declare_intrinsic(
            "llvm.readcyclecounter", fnty=ir.FunctionType(ir.IntType(64), [])
        )
        return builder.call(fn, [])

    return types.int64(), codegen
