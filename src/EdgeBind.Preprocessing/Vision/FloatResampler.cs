using System.Numerics;
using System.Runtime.CompilerServices;

namespace EdgeBind.Preprocessing.Vision;

/// <summary>The interpolation a <see cref="FloatResampler"/> uses.</summary>
internal enum FloatFilter
{
    /// <summary>torch bilinear, align_corners=False, no antialiasing (torchvision 0.14's tensor Resize default).</summary>
    Bilinear,

    /// <summary>PIL-style bicubic a = -0.5 with antialiasing (torch's antialias=True bicubic), in float.</summary>
    AntialiasedBicubic,
}

/// <summary>
/// Separable float resize of a single-channel plane to torchvision's short-side size, center crop and
/// normalisation (v - mean) / std, computing only the cropped pixels. Weights are kept per input size; the
/// intermediate buffer is reused, so equal-sized frames allocate nothing. Not thread-safe.
/// </summary>
internal sealed unsafe class FloatResampler
{
    private readonly int _size;
    private readonly FloatFilter _filter;
    private float[] _hWeights = [];
    private int[] _hStart = [];
    private int[] _hTaps = [];
    private int _hK;
    private float[] _vWeights = [];
    private int[] _vStart = [];
    private int[] _vTaps = [];
    private int _vK;
    private int _planWidth;
    private int _planHeight;
    private int _rowFirst;
    private int _rows;
    private float[] _intermediate = [];

    public FloatResampler(int size, FloatFilter filter)
    {
        _size = size;
        _filter = filter;
    }

    /// <summary>Output side in pixels.</summary>
    public int Size => _size;

    /// <summary>Resizes <paramref name="source"/> ([height, width], row-major), crops, and writes (v - mean) / std.</summary>
    public void Process(ReadOnlySpan<float> source, int width, int height, float mean, float std, Span<float> destination)
    {
        if (destination.Length < _size * _size)
        {
            throw new ArgumentException($"destination holds {destination.Length} floats; expected at least {_size * _size} ([1,{_size},{_size}])", nameof(destination));
        }
        if (source.Length < (long)width * height)
        {
            throw new ArgumentException($"source holds {source.Length} values; expected {width}x{height}", nameof(source));
        }
        Plan(width, height);
        var size = _size;
        var needed = _rows * size;
        if (_intermediate.Length < needed)
        {
            _intermediate = new float[needed];
        }
        fixed (float* src = source)
        fixed (float* tmp = _intermediate)
        fixed (float* dst = destination)
        fixed (float* hw = _hWeights)
        fixed (int* hs = _hStart)
        fixed (int* ht = _hTaps)
        fixed (float* vw = _vWeights)
        fixed (int* vs = _vStart)
        fixed (int* vt = _vTaps)
        {
            for (var r = 0; r < _rows; r++)
            {
                var row = src + ((long)(_rowFirst + r) * width);
                var output = tmp + (r * size);
                for (var x = 0; x < size; x++)
                {
                    var p = row + hs[x];
                    var w = hw + (x * _hK);
                    var n = ht[x];
                    var acc = 0f;
                    for (var t = 0; t < n; t++)
                    {
                        acc += p[t] * w[t];
                    }
                    output[x] = acc;
                }
            }
            var lanes = Vector<float>.Count;
            var vm = new Vector<float>(mean);
            var vsd = new Vector<float>(std);
            for (var y = 0; y < size; y++)
            {
                var w = vw + (y * _vK);
                var n = vt[y];
                var first = tmp + (vs[y] * size);
                var output = dst + (y * size);
                var x = 0;
                for (; x + lanes <= size; x += lanes)
                {
                    var acc = Vector<float>.Zero;
                    for (var t = 0; t < n; t++)
                    {
                        acc += Unsafe.ReadUnaligned<Vector<float>>(first + (t * size) + x) * new Vector<float>(w[t]);
                    }
                    Unsafe.WriteUnaligned(output + x, (acc - vm) / vsd);
                }
                for (; x < size; x++)
                {
                    var acc = 0f;
                    for (var t = 0; t < n; t++)
                    {
                        acc += first[(t * size) + x] * w[t];
                    }
                    output[x] = (acc - mean) / std;
                }
            }
        }
    }

    private void Plan(int width, int height)
    {
        if (_hStart.Length != 0 && width == _planWidth && height == _planHeight)
        {
            return;
        }
        var g = ResizeGeometry.Create(width, height, _size);
        var h = Axis(width, g.OutWidth, g.CropX);
        var v = Axis(height, g.OutHeight, g.CropY);
        _rowFirst = v.FirstInput;
        _rows = v.EndInput - _rowFirst;
        for (var i = 0; i < v.Start.Length; i++)
        {
            v.Start[i] -= _rowFirst;
        }
        (_hWeights, _hStart, _hTaps, _hK) = (ToFloat(h.Weights), h.Start, h.Taps, h.KernelSize);
        (_vWeights, _vStart, _vTaps, _vK) = (ToFloat(v.Weights), v.Start, v.Taps, v.KernelSize);
        _planWidth = width;
        _planHeight = height;
    }

    private AxisCoefficients Axis(int inSize, int outSize, int first) => _filter == FloatFilter.Bilinear
        ? AxisCoefficients.Bilinear(inSize, outSize, first, _size)
        : AxisCoefficients.Bicubic(inSize, outSize, first, _size);

    private static float[] ToFloat(double[] weights)
    {
        var result = new float[weights.Length];
        for (var i = 0; i < weights.Length; i++)
        {
            result[i] = (float)weights[i];
        }
        return result;
    }
}
