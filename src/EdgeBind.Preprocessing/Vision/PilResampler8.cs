using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace EdgeBind.Preprocessing.Vision;

/// <summary>An 8-bit interleaved image in memory: 1 (grey), 3 or 4 bytes per pixel, any row stride.</summary>
internal readonly unsafe struct Image8
{
    public Image8(byte* data, int width, int height, int stride, int pixelBytes, bool bgr)
    {
        Data = data;
        Width = width;
        Height = height;
        Stride = stride;
        PixelBytes = pixelBytes;
        Bgr = bgr;
    }

    public byte* Data { get; }

    public int Width { get; }

    public int Height { get; }

    public int Stride { get; }

    /// <summary>1 for grey; 3 or 4 for colour (a fourth byte, alpha or padding, is ignored).</summary>
    public int PixelBytes { get; }

    /// <summary>Colour bytes are blue, green, red (OpenCV order) rather than red, green, blue.</summary>
    public bool Bgr { get; }
}

/// <summary>
/// PIL's 8-bit bicubic <c>Image.resize</c> followed by a center crop and CLIP-style normalisation, bit-exact
/// with Pillow 9.4: horizontal pass then vertical, 22-bit fixed-point weights, rounding bias 2^21, clip to
/// 0..255 between and after the passes. Only the pixels the crop keeps are computed (each output pixel
/// depends only on its own weights, so this changes nothing). The plan for the last input size and the
/// intermediate buffer are kept, so a stream of equal-sized frames allocates nothing. Not thread-safe.
/// </summary>
internal sealed unsafe class PilResampler8
{
    private const int Bias = 1 << (AxisCoefficients.PrecisionBits - 1);

    private readonly int _size;
    private readonly bool _avx2;
    private readonly float[] _mean = new float[3];
    private readonly float[] _std = new float[3];
    private AxisCoefficients? _horizontal;
    private AxisCoefficients? _vertical;
    private int _planWidth;
    private int _planHeight;
    private int _rowFirst;
    private int _rows;
    private byte[] _intermediate = [];
    private byte[] _lastRow = [];
    private byte[] _lastRowB = [];
    private byte[] _spread = [];
    private byte[] _spreadB = [];

    // AVX2 path: per output, the fixed-point weights of taps (2i, 2i+1) as one vector (w0 x4, w1 x4), so one
    // 256-bit multiply covers two source pixels.
    private int[] _pairWeights = [];
    private int[] _greyWeights = [];
    private int _greyStride;
    private int _pairStride;

    /// <param name="size">Output side.</param>
    /// <param name="mean">R, G, B means.</param>
    /// <param name="std">R, G, B standard deviations.</param>
    /// <param name="allowAvx2">False forces the portable path (what ARM runs), so x64 tests can check it.</param>
    public PilResampler8(int size, ReadOnlySpan<double> mean, ReadOnlySpan<double> std, bool allowAvx2 = true)
    {
        _size = size;
        _avx2 = allowAvx2 && Avx2.IsSupported;
        for (var c = 0; c < 3; c++)
        {
            // torchvision's Normalize holds mean and std as float32 tensors.
            _mean[c] = (float)mean[c];
            _std[c] = (float)std[c];
        }
    }

    /// <summary>Writes the normalised [3, size, size] RGB tensor of <paramref name="image"/> into <paramref name="destination"/>.</summary>
    public void Process(in Image8 image, Span<float> destination)
    {
        var plane = _size * _size;
        if (destination.Length < 3 * plane)
        {
            throw new ArgumentException($"destination holds {destination.Length} floats; expected at least {3 * plane} ([3,{_size},{_size}])", nameof(destination));
        }
        Plan(image.Width, image.Height);
        var planes = image.PixelBytes == 1 ? 1 : 3;
        var needed = planes * _rows * _size;
        if (_intermediate.Length < needed)
        {
            _intermediate = new byte[needed];
        }
        fixed (byte* tmp = _intermediate)
        {
            if (planes == 1)
            {
                HorizontalGrey(image, tmp);
            }
            else
            {
                HorizontalColour(image, tmp);
            }
            fixed (float* dst = destination)
            {
                for (var p = 0; p < planes; p++)
                {
                    var source = tmp + (p * _rows * _size);
                    if (planes == 1)
                    {
                        Vertical(source, dst, 0, dst + plane, 1, dst + (2 * plane), 2);
                    }
                    else
                    {
                        // Planes follow the source's byte order; the tensor is R, G, B.
                        var channel = image.Bgr ? 2 - p : p;
                        Vertical(source, dst + (channel * plane), channel, null, 0, null, 0);
                    }
                }
            }
        }
    }

    private void Plan(int width, int height)
    {
        if (_horizontal is not null && width == _planWidth && height == _planHeight)
        {
            return;
        }
        var g = ResizeGeometry.Create(width, height, _size);
        _horizontal = AxisCoefficients.Bicubic(width, g.OutWidth, g.CropX, _size);
        var vertical = AxisCoefficients.Bicubic(height, g.OutHeight, g.CropY, _size);
        // The horizontal pass covers only the rows the vertical pass reads (as PIL's ybox_first/ybox_last).
        _rowFirst = vertical.FirstInput;
        _rows = vertical.EndInput - _rowFirst;
        for (var i = 0; i < vertical.Start.Length; i++)
        {
            vertical.Start[i] -= _rowFirst;
        }
        _vertical = vertical;
        BuildPairWeights(_horizontal);
        BuildGreyWeights(_horizontal);
        _planWidth = width;
        _planHeight = height;
    }

    private void BuildPairWeights(AxisCoefficients h)
    {
        var pairs = (h.KernelSize + 1) / 2;
        // An even count lets the loop take two pairs per step (with zero weights in the padding).
        pairs += pairs & 1;
        _pairStride = pairs * 8;
        _pairWeights = new int[_size * _pairStride];
        for (var x = 0; x < _size; x++)
        {
            for (var t = 0; t < h.Taps[x]; t++)
            {
                var at = (x * _pairStride) + ((t / 2) * 8) + ((t % 2) * 4);
                _pairWeights.AsSpan(at, 4).Fill(h.FixedWeights[(x * h.KernelSize) + t]);
            }
        }
    }

    private void HorizontalColour(in Image8 image, byte* tmp)
    {
        if (_avx2)
        {
            HorizontalColourAvx2(image, tmp);
            return;
        }

        var h = _horizontal!;
        var size = _size;
        var k = h.KernelSize;
        var planeBytes = _rows * size;
        var ps = image.PixelBytes;
        fixed (int* weights = h.FixedWeights)
        fixed (int* starts = h.Start)
        fixed (int* taps = h.Taps)
        {
            for (var r = 0; r < _rows; r++)
            {
                var y = _rowFirst + r;
                var row = image.Data + ((long)y * image.Stride);
                if (ps == 3 && y == image.Height - 1)
                {
                    row = PaddedRow(row, image.Width * 3, (image.Width * 3) + 1, 0);
                }
                var out0 = tmp + (r * size);
                for (var x = 0; x < size; x++)
                {
                    var p = row + (starts[x] * ps);
                    var w = weights + (x * k);
                    var n = taps[x];
                    var acc = Vector128.Create(Bias);
                    // Four bytes per tap (the fourth belongs to the next pixel or alpha, and is dropped).
                    for (var t = 0; t < n; t++)
                    {
                        acc += Load4(p + (t * ps)) * Vector128.Create(w[t]);
                    }
                    acc = Vector128.Min(Vector128.Max(Vector128.ShiftRightArithmetic(acc, AxisCoefficients.PrecisionBits), Vector128<int>.Zero), Vector128.Create(255));
                    out0[x] = (byte)acc.GetElement(0);
                    out0[planeBytes + x] = (byte)acc.GetElement(1);
                    out0[(2 * planeBytes) + x] = (byte)acc.GetElement(2);
                }
            }
        }
    }

    // Grey AVX2 path: per output, its fixed-point weights padded with zeros to a multiple of eight taps.
    private void BuildGreyWeights(AxisCoefficients h)
    {
        _greyStride = (h.KernelSize + 7) & ~7;
        _greyWeights = new int[_size * _greyStride];
        for (var x = 0; x < _size; x++)
        {
            h.FixedWeights.AsSpan(x * h.KernelSize, h.Taps[x]).CopyTo(_greyWeights.AsSpan(x * _greyStride));
        }
    }

    /// <summary>
    /// AVX2 grey horizontal pass: eight taps per multiply (bytes widened straight from memory), four outputs
    /// reduced together with horizontal adds, clipped and stored as four bytes.
    /// </summary>
    private void HorizontalGreyAvx2(in Image8 image, byte* tmp)
    {
        var h = _horizontal!;
        var size = _size;
        var stride = _greyStride;
        var reach = (long)h.Start[size - 1] + stride + 8;
        var imageBytes = ((long)(image.Height - 1) * image.Stride) + image.Width;
        var bias = Vector128.Create(Bias);
        fixed (int* weights = _greyWeights)
        fixed (int* starts = h.Start)
        {
            for (var r = 0; r < _rows; r++)
            {
                var y = _rowFirst + r;
                var row = image.Data + ((long)y * image.Stride);
                if (((long)y * image.Stride) + reach > imageBytes)
                {
                    row = PaddedRow(row, image.Width, reach, 0);
                }
                var output = tmp + (r * size);
                var x = 0;
                for (; x + 4 <= size; x += 4)
                {
                    var a0 = GreyTaps(row + starts[x], weights + (x * stride), stride);
                    var a1 = GreyTaps(row + starts[x + 1], weights + ((x + 1) * stride), stride);
                    var a2 = GreyTaps(row + starts[x + 2], weights + ((x + 2) * stride), stride);
                    var a3 = GreyTaps(row + starts[x + 3], weights + ((x + 3) * stride), stride);
                    // Lanes after the adds: (a0, a1, a2, a3) for each 128-bit half; the halves sum to the totals.
                    var sums = Avx2.HorizontalAdd(Avx2.HorizontalAdd(a0, a1), Avx2.HorizontalAdd(a2, a3));
                    var shifted = Vector128.ShiftRightArithmetic(sums.GetLower() + sums.GetUpper() + bias, AxisCoefficients.PrecisionBits);
                    var packed = Sse2.PackUnsignedSaturate(Sse2.PackSignedSaturate(shifted, shifted), Vector128<short>.Zero);
                    *(int*)(output + x) = packed.AsInt32().ToScalar();
                }
                for (; x < size; x++)
                {
                    var a = GreyTaps(row + starts[x], weights + (x * stride), stride);
                    output[x] = Clip8(Vector256.Sum(a) + Bias);
                }
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> GreyTaps(byte* p, int* w, int taps)
    {
        var acc = Vector256<int>.Zero;
        for (var t = 0; t < taps; t += 8)
        {
            acc = Avx2.Add(acc, Avx2.MultiplyLow(Avx2.ConvertToVector256Int32(p + t), Avx.LoadVector256(w + t)));
        }
        return acc;
    }

    private void HorizontalGrey(in Image8 image, byte* tmp)
    {
        if (_avx2)
        {
            HorizontalGreyAvx2(image, tmp);
            return;
        }
        var h = _horizontal!;
        var size = _size;
        var k = h.KernelSize;
        fixed (int* weights = h.FixedWeights)
        fixed (int* starts = h.Start)
        fixed (int* taps = h.Taps)
        {
            for (var r = 0; r < _rows; r++)
            {
                var row = image.Data + ((long)(_rowFirst + r) * image.Stride);
                var output = tmp + (r * size);
                for (var x = 0; x < size; x++)
                {
                    var p = row + starts[x];
                    var w = weights + (x * k);
                    var n = taps[x];
                    var acc = Bias;
                    for (var t = 0; t < n; t++)
                    {
                        acc += p[t] * w[t];
                    }
                    output[x] = Clip8(acc);
                }
            }
        }
    }

    /// <summary>AVX2 horizontal pass: four outputs at a time, packed to bytes and split into the planes together.</summary>
    private void HorizontalColourAvx2(in Image8 image, byte* tmp)
    {
        var size = _size;
        var planeBytes = _rows * size;
        var stride = _pairStride;
        var pairs = _pairStride / 8;
        var h = _horizontal!;
        // Every output runs the same number of pairs (zero weights pad the short ones), so the loop branch is
        // always predicted. Reads reach past the last tap: rows whose reach leaves the image use a padded copy,
        // and three-byte rows are first spread to four bytes per pixel (into a padded buffer), so one vpmovzxbd
        // loads and widens two pixels. Two rows go together so each weight vector is loaded once for both.
        var reach = ((long)h.Start[size - 1] * 4) + (pairs * 8) + 8;
        var bias = Vector128.Create(Bias);
        fixed (int* weights = _pairWeights)
        fixed (int* starts = h.Start)
        {
            var r = 0;
            for (; r + 2 <= _rows; r += 2)
            {
                var rowA = SourceRow(image, r, reach, 0);
                var rowB = SourceRow(image, r + 1, reach, 1);
                var outA = tmp + (r * size);
                var outB = outA + size;
                var x = 0;
                for (; x + 4 <= size; x += 4)
                {
                    SumPairs4x2(rowA, rowB, starts, pairs, weights, stride, x, out var a0, out var a1, out var a2, out var a3,
                        out var b0, out var b1, out var b2, out var b3);
                    StoreQuad(outA + x, planeBytes, a0, a1, a2, a3, bias);
                    StoreQuad(outB + x, planeBytes, b0, b1, b2, b3, bias);
                }
                for (; x < size; x++)
                {
                    StoreOne(outA + x, planeBytes, SumPairs(rowA, starts, pairs, weights, stride, x), bias);
                    StoreOne(outB + x, planeBytes, SumPairs(rowB, starts, pairs, weights, stride, x), bias);
                }
            }
            for (; r < _rows; r++)
            {
                var row = SourceRow(image, r, reach, 0);
                var output = tmp + (r * size);
                for (var x = 0; x < size; x++)
                {
                    StoreOne(output + x, planeBytes, SumPairs(row, starts, pairs, weights, stride, x), bias);
                }
            }
        }
    }

    /// <summary>Row <paramref name="r"/> of the intermediate's source, as four bytes per pixel and safe to read to <paramref name="reach"/>.</summary>
    private byte* SourceRow(in Image8 image, int r, long reach, int slot)
    {
        var y = _rowFirst + r;
        var row = image.Data + ((long)y * image.Stride);
        if (image.PixelBytes == 3)
        {
            return SpreadRow(row, image.Width, reach, slot);
        }
        var imageBytes = ((long)(image.Height - 1) * image.Stride) + ((long)image.Width * 4);
        return ((long)y * image.Stride) + reach > imageBytes ? PaddedRow(row, image.Width * 4, reach, slot) : row;
    }

    /// <summary>Clips four outputs' (B, G, R, x) sums to bytes and stores each channel's four bytes in its plane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreQuad(byte* target, int planeBytes, Vector128<int> q0, Vector128<int> q1, Vector128<int> q2, Vector128<int> q3, Vector128<int> bias)
    {
        var s0 = Vector128.ShiftRightArithmetic(q0 + bias, AxisCoefficients.PrecisionBits);
        var s1 = Vector128.ShiftRightArithmetic(q1 + bias, AxisCoefficients.PrecisionBits);
        var s2 = Vector128.ShiftRightArithmetic(q2 + bias, AxisCoefficients.PrecisionBits);
        var s3 = Vector128.ShiftRightArithmetic(q3 + bias, AxisCoefficients.PrecisionBits);
        // Signed then unsigned saturation is exactly PIL's clip8 of the shifted sums.
        var packed = Sse2.PackUnsignedSaturate(Sse2.PackSignedSaturate(s0, s1), Sse2.PackSignedSaturate(s2, s3));
        var byChannel = Vector128.Create((byte)0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
        var channels = Ssse3.Shuffle(packed, byChannel).AsInt32();
        *(int*)target = channels.GetElement(0);
        *(int*)(target + planeBytes) = channels.GetElement(1);
        *(int*)(target + (2 * planeBytes)) = channels.GetElement(2);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreOne(byte* target, int planeBytes, Vector128<int> sum, Vector128<int> bias)
    {
        var v = Vector128.Min(Vector128.Max(Vector128.ShiftRightArithmetic(sum + bias, AxisCoefficients.PrecisionBits), Vector128<int>.Zero), Vector128.Create(255));
        target[0] = (byte)v.GetElement(0);
        target[planeBytes] = (byte)v.GetElement(1);
        target[2 * planeBytes] = (byte)v.GetElement(2);
    }

    /// <summary>Sums for outputs x .. x+3 of two rows: eight accumulator chains, each weight vector loaded once.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void SumPairs4x2(byte* rowA, byte* rowB, int* starts, int pairs, int* weights, int stride, int x,
        out Vector128<int> a0, out Vector128<int> a1, out Vector128<int> a2, out Vector128<int> a3,
        out Vector128<int> b0, out Vector128<int> b1, out Vector128<int> b2, out Vector128<int> b3)
    {
        nint o0 = starts[x] * 4;
        nint o1 = starts[x + 1] * 4;
        nint o2 = starts[x + 2] * 4;
        nint o3 = starts[x + 3] * 4;
        var w0 = weights + (x * stride);
        var w1 = w0 + stride;
        var w2 = w1 + stride;
        var w3 = w2 + stride;
        var pa0 = rowA + o0;
        var pa1 = rowA + o1;
        var pa2 = rowA + o2;
        var pa3 = rowA + o3;
        var rowOffset = rowB - rowA;
        Vector256<int> x0 = default, x1 = default, x2 = default, x3 = default;
        Vector256<int> y0 = default, y1 = default, y2 = default, y3 = default;
        for (var i = 0; i < pairs; i++)
        {
            var o = i * 8;
            var k0 = Avx.LoadVector256(w0 + o);
            var k1 = Avx.LoadVector256(w1 + o);
            var k2 = Avx.LoadVector256(w2 + o);
            var k3 = Avx.LoadVector256(w3 + o);
            x0 = Avx2.Add(x0, Avx2.MultiplyLow(Avx2.ConvertToVector256Int32(pa0 + o), k0));
            y0 = Avx2.Add(y0, Avx2.MultiplyLow(Avx2.ConvertToVector256Int32(pa0 + rowOffset + o), k0));
            x1 = Avx2.Add(x1, Avx2.MultiplyLow(Avx2.ConvertToVector256Int32(pa1 + o), k1));
            y1 = Avx2.Add(y1, Avx2.MultiplyLow(Avx2.ConvertToVector256Int32(pa1 + rowOffset + o), k1));
            x2 = Avx2.Add(x2, Avx2.MultiplyLow(Avx2.ConvertToVector256Int32(pa2 + o), k2));
            y2 = Avx2.Add(y2, Avx2.MultiplyLow(Avx2.ConvertToVector256Int32(pa2 + rowOffset + o), k2));
            x3 = Avx2.Add(x3, Avx2.MultiplyLow(Avx2.ConvertToVector256Int32(pa3 + o), k3));
            y3 = Avx2.Add(y3, Avx2.MultiplyLow(Avx2.ConvertToVector256Int32(pa3 + rowOffset + o), k3));
        }
        a0 = x0.GetLower() + x0.GetUpper();
        a1 = x1.GetLower() + x1.GetUpper();
        a2 = x2.GetLower() + x2.GetUpper();
        a3 = x3.GetLower() + x3.GetUpper();
        b0 = y0.GetLower() + y0.GetUpper();
        b1 = y1.GetLower() + y1.GetUpper();
        b2 = y2.GetLower() + y2.GetUpper();
        b3 = y3.GetLower() + y3.GetUpper();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<int> SumPairs(byte* row, int* starts, int pairs, int* weights, int stride, int x)
    {
        var p = row + (starts[x] * 4);
        var w = weights + (x * stride);
        var acc0 = Vector256<int>.Zero;
        var acc1 = Vector256<int>.Zero;
        for (var i = 0; i < pairs; i += 2, p += 16, w += 16)
        {
            acc0 = Avx2.Add(acc0, Avx2.MultiplyLow(Avx2.ConvertToVector256Int32(p), Avx.LoadVector256(w)));
            acc1 = Avx2.Add(acc1, Avx2.MultiplyLow(Avx2.ConvertToVector256Int32(p + 8), Avx.LoadVector256(w + 8)));
        }
        var acc = Avx2.Add(acc0, acc1);
        return acc.GetLower() + acc.GetUpper();
    }

    /// <summary>
    /// Vertical pass over one plane of the intermediate, straight into float: (v / 255 - mean) / std in float32,
    /// the operations torchvision's ToTensor and Normalize perform. A grey plane feeds three channels.
    /// </summary>
    private void Vertical(byte* source, float* dst0, int c0, float* dst1, int c1, float* dst2, int c2)
    {
        if (_avx2)
        {
            VerticalAvx2(source, dst0, c0, dst1, c1, dst2, c2);
            return;
        }
        var v = _vertical!;
        var size = _size;
        var k = v.KernelSize;
        var lanes = Vector<int>.Count;
        var block = Vector<byte>.Count;
        var v255 = new Vector<float>(255f);
        var row = stackalloc int[size];
        fixed (int* weights = v.FixedWeights)
        fixed (int* starts = v.Start)
        fixed (int* taps = v.Taps)
        {
            for (var y = 0; y < size; y++)
            {
                var w = weights + (y * k);
                var n = taps[y];
                var first = source + (starts[y] * size);
                var x = 0;
                for (; x + block <= size; x += block)
                {
                    var a0 = new Vector<int>(Bias);
                    var a1 = a0;
                    var a2 = a0;
                    var a3 = a0;
                    for (var t = 0; t < n; t++)
                    {
                        var bytes = Unsafe.ReadUnaligned<Vector<byte>>(first + (t * size) + x);
                        Vector.Widen(bytes, out var lo, out var hi);
                        Vector.Widen(lo, out var u0, out var u1);
                        Vector.Widen(hi, out var u2, out var u3);
                        var wt = new Vector<int>(w[t]);
                        a0 += Vector.AsVectorInt32(u0) * wt;
                        a1 += Vector.AsVectorInt32(u1) * wt;
                        a2 += Vector.AsVectorInt32(u2) * wt;
                        a3 += Vector.AsVectorInt32(u3) * wt;
                    }
                    StoreClipped(row + x, a0);
                    StoreClipped(row + x + lanes, a1);
                    StoreClipped(row + x + (2 * lanes), a2);
                    StoreClipped(row + x + (3 * lanes), a3);
                }
                for (; x < size; x++)
                {
                    var acc = Bias;
                    for (var t = 0; t < n; t++)
                    {
                        acc += first[(t * size) + x] * w[t];
                    }
                    row[x] = Clip8(acc);
                }
                Normalise(row, dst0 + (y * size), _mean[c0], _std[c0], v255);
                if (dst1 != null)
                {
                    Normalise(row, dst1 + (y * size), _mean[c1], _std[c1], v255);
                    Normalise(row, dst2 + (y * size), _mean[c2], _std[c2], v255);
                }
            }
        }
    }

    /// <summary>
    /// AVX2 vertical pass: 32 columns at a time, each group of eight bytes widened to ints straight from memory
    /// (vpmovzxbd), clipped, and normalised in registers into the destination rows.
    /// </summary>
    private void VerticalAvx2(byte* source, float* dst0, int c0, float* dst1, int c1, float* dst2, int c2)
    {
        var v = _vertical!;
        var size = _size;
        var k = v.KernelSize;
        var bias = Vector256.Create(Bias);
        var max = Vector256.Create(255);
        var v255 = Vector256.Create(255f);
        var (m0, s0) = (Vector256.Create(_mean[c0]), Vector256.Create(_std[c0]));
        var (m1, s1) = (Vector256.Create(_mean[c1]), Vector256.Create(_std[c1]));
        var (m2, s2) = (Vector256.Create(_mean[c2]), Vector256.Create(_std[c2]));
        var grey = dst1 != null;
        fixed (int* weights = v.FixedWeights)
        fixed (int* starts = v.Start)
        fixed (int* taps = v.Taps)
        {
            for (var y = 0; y < size; y++)
            {
                var w = weights + (y * k);
                var n = taps[y];
                var first = source + (starts[y] * size);
                var offset = y * size;
                var x = 0;
                for (; x + 32 <= size; x += 32)
                {
                    var a0 = bias;
                    var a1 = bias;
                    var a2 = bias;
                    var a3 = bias;
                    var p = first + x;
                    for (var t = 0; t < n; t++, p += size)
                    {
                        var wt = Vector256.Create(w[t]);
                        a0 = Avx2.Add(a0, Avx2.MultiplyLow(Avx2.ConvertToVector256Int32(p), wt));
                        a1 = Avx2.Add(a1, Avx2.MultiplyLow(Avx2.ConvertToVector256Int32(p + 8), wt));
                        a2 = Avx2.Add(a2, Avx2.MultiplyLow(Avx2.ConvertToVector256Int32(p + 16), wt));
                        a3 = Avx2.Add(a3, Avx2.MultiplyLow(Avx2.ConvertToVector256Int32(p + 24), wt));
                    }
                    var f0 = Clip(a0, max);
                    var f1 = Clip(a1, max);
                    var f2 = Clip(a2, max);
                    var f3 = Clip(a3, max);
                    var o = offset + x;
                    StoreNormalised(dst0 + o, f0, f1, f2, f3, v255, m0, s0);
                    if (grey)
                    {
                        StoreNormalised(dst1 + o, f0, f1, f2, f3, v255, m1, s1);
                        StoreNormalised(dst2 + o, f0, f1, f2, f3, v255, m2, s2);
                    }
                }
                for (; x < size; x++)
                {
                    var acc = Bias;
                    for (var t = 0; t < n; t++)
                    {
                        acc += first[(t * size) + x] * w[t];
                    }
                    var value = (float)Clip8(acc);
                    dst0[offset + x] = ((value / 255f) - _mean[c0]) / _std[c0];
                    if (grey)
                    {
                        dst1[offset + x] = ((value / 255f) - _mean[c1]) / _std[c1];
                        dst2[offset + x] = ((value / 255f) - _mean[c2]) / _std[c2];
                    }
                }
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Clip(Vector256<int> acc, Vector256<int> max) =>
        Vector256.ConvertToSingle(Vector256.Min(Vector256.Max(Vector256.ShiftRightArithmetic(acc, AxisCoefficients.PrecisionBits), Vector256<int>.Zero), max));

    // torchvision: ToTensor divides by 255, Normalize subtracts the mean and divides by the std, each in float32.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreNormalised(float* dst, Vector256<float> f0, Vector256<float> f1, Vector256<float> f2, Vector256<float> f3, Vector256<float> v255, Vector256<float> mean, Vector256<float> std)
    {
        ((((f0 / v255) - mean) / std)).Store(dst);
        ((((f1 / v255) - mean) / std)).Store(dst + 8);
        ((((f2 / v255) - mean) / std)).Store(dst + 16);
        ((((f3 / v255) - mean) / std)).Store(dst + 24);
    }

    private void Normalise(int* row, float* dst, float mean, float std, Vector<float> v255)
    {
        var lanes = Vector<int>.Count;
        var vm = new Vector<float>(mean);
        var vs = new Vector<float>(std);
        var x = 0;
        for (; x + lanes <= _size; x += lanes)
        {
            var f = Vector.ConvertToSingle(Unsafe.ReadUnaligned<Vector<int>>(row + x));
            Unsafe.WriteUnaligned(dst + x, ((f / v255) - vm) / vs);
        }
        for (; x < _size; x++)
        {
            dst[x] = ((row[x] / 255f) - mean) / std;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreClipped(int* target, Vector<int> acc)
    {
        var shifted = Vector.ShiftRightArithmetic(acc, AxisCoefficients.PrecisionBits);
        Unsafe.WriteUnaligned(target, Vector.Min(Vector.Max(shifted, Vector<int>.Zero), new Vector<int>(255)));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static byte Clip8(int acc)
    {
        var v = acc >> AxisCoefficients.PrecisionBits;
        return v < 0 ? (byte)0 : v > 255 ? (byte)255 : (byte)v;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<int> Load4(byte* p)
    {
        if (Sse41.IsSupported)
        {
            return Sse41.ConvertToVector128Int32(p);
        }
        return Vector128.Create(p[0], p[1], p[2], 0);
    }

    // B, G, R to B, G, R, 0 with one shuffle per four pixels, into a kept buffer padded to `reach` bytes.
    private byte* SpreadRow(byte* row, int width, long reach, int slot)
    {
        var needed = (int)Math.Max((long)width * 4, reach) + 16;
        ref var buffer = ref slot == 0 ? ref _spread : ref _spreadB;
        if (buffer.Length < needed)
        {
            buffer = GC.AllocateArray<byte>(needed, pinned: true);
        }
        var spread = Vector128.Create((byte)0, 1, 2, 0x80, 3, 4, 5, 0x80, 6, 7, 8, 0x80, 9, 10, 11, 0x80);
        fixed (byte* target = buffer)
        {
            var i = 0;
            // Sixteen bytes are read for twelve used: stop while those stay inside the row.
            for (; (i * 3) + 16 <= width * 3; i += 4)
            {
                Ssse3.Shuffle(Vector128.Load(row + (i * 3)), spread).Store(target + (i * 4));
            }
            for (; i < width; i++)
            {
                *(uint*)(target + (i * 4)) = row[i * 3] | ((uint)row[(i * 3) + 1] << 8) | ((uint)row[(i * 3) + 2] << 16);
            }
            return target;
        }
    }

    // Vector reads run past a row's last tap; near the end of the image they would leave the buffer, so such a
    // row is copied into a zero-padded buffer of at least `reach` bytes (kept, so steady state allocates nothing).
    private byte* PaddedRow(byte* row, int length, long reach, int slot)
    {
        var needed = (int)Math.Max(length, reach) + 16;
        ref var buffer = ref slot == 0 ? ref _lastRow : ref _lastRowB;
        if (buffer.Length < needed)
        {
            buffer = GC.AllocateArray<byte>(needed, pinned: true);
        }
        fixed (byte* copy = buffer)
        {
            Buffer.MemoryCopy(row, copy, length, length);
            return copy;
        }
    }
}
