// Conversions between tensor scalars and the little-endian byte layouts of files
// (safetensors: F16, BF16, F32, F64). Every loop is a static requirement with a default
// implementation, so it is specialized for Float and for Double (see TensorScalar).
//
// The byte pointers are raw and need not be aligned: a tensor's data may start at any
// offset of a file.

/// Element-wise conversions from and to the storage formats of checkpoint files.
public protocol ConversionKernels {
    /// dst[i] = the IEEE binary16 (half) value stored little-endian at bytes [2i, 2i + 2) of `src`.
    static func decode(float16 src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Self>, _ n: Int)
    /// dst[i] = the bfloat16 value (the upper half of a binary32) stored little-endian at bytes [2i, 2i + 2).
    static func decode(bfloat16 src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Self>, _ n: Int)
    /// dst[i] = the binary32 value stored little-endian at bytes [4i, 4i + 4), rounded to `Self`.
    static func decode(float32 src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Self>, _ n: Int)
    /// dst[i] = the binary64 value stored little-endian at bytes [8i, 8i + 8), rounded to `Self`.
    static func decode(float64 src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Self>, _ n: Int)
    /// Bytes [4i, 4i + 4) of `dst` = src[i] as a little-endian binary32 (rounded to nearest).
    static func encode(float32 src: UnsafePointer<Self>, _ dst: UnsafeMutableRawPointer, _ n: Int)
    /// Bytes [8i, 8i + 8) of `dst` = src[i] as a little-endian binary64 (exact).
    static func encode(float64 src: UnsafePointer<Self>, _ dst: UnsafeMutableRawPointer, _ n: Int)
}

extension ConversionKernels where Self: TensorScalar {
    public static func decode(float16 src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Self>, _ n: Int) {
        for i in 0..<n {
            let h = UInt32(UInt16(littleEndian: src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
            dst[i] = Self(halfToFloat(h))
        }
    }

    public static func decode(bfloat16 src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Self>, _ n: Int) {
        for i in 0..<n {
            let b = UInt32(UInt16(littleEndian: src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
            dst[i] = Self(Float(bitPattern: b << 16))
        }
    }

    public static func decode(float32 src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Self>, _ n: Int) {
        for i in 0..<n {
            let bits = UInt32(littleEndian: src.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))
            dst[i] = Self(Float(bitPattern: bits))
        }
    }

    public static func decode(float64 src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Self>, _ n: Int) {
        for i in 0..<n {
            let bits = UInt64(littleEndian: src.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self))
            dst[i] = Self(Double(bitPattern: bits))
        }
    }

    public static func encode(float32 src: UnsafePointer<Self>, _ dst: UnsafeMutableRawPointer, _ n: Int) {
        for i in 0..<n {
            dst.storeBytes(of: Float(src[i]).bitPattern.littleEndian, toByteOffset: 4 * i, as: UInt32.self)
        }
    }

    public static func encode(float64 src: UnsafePointer<Self>, _ dst: UnsafeMutableRawPointer, _ n: Int) {
        for i in 0..<n {
            dst.storeBytes(of: Double(src[i]).bitPattern.littleEndian, toByteOffset: 8 * i, as: UInt64.self)
        }
    }
}

/// The binary32 value of the binary16 bit pattern `h` (exact: every half is a float).
/// Half: 1 sign bit, 5 exponent bits (bias 15), 10 mantissa bits.
@inline(__always)
func halfToFloat(_ h: UInt32) -> Float {
    let sign = (h & 0x8000) << 16, exponent = (h >> 10) & 0x1F, mantissa = h & 0x3FF
    switch exponent {
    case 0:
        // zero or subnormal: mantissa · 2⁻²⁴, exact in binary32
        let magnitude = Float(mantissa) * 0x1p-24
        return sign == 0 ? magnitude : -magnitude
    case 0x1F:
        // infinity (mantissa 0) or NaN (payload kept)
        return Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13))
    default:
        // normal: rebias the exponent from 15 to 127, widen the mantissa from 10 to 23 bits
        return Float(bitPattern: sign | ((exponent + 112) << 23) | (mantissa << 13))
    }
}
