namespace EdgeBind.Preprocessing.Vision;

/// <summary>
/// Resampling coefficients for one axis, computed exactly as Pillow's <c>precompute_coeffs</c> (Resample.c)
/// with its bicubic filter (a = -0.5, support 2 widened by the downscale factor, centre (i + 0.5) * scale,
/// weights normalised to sum 1), kept only for the outputs a later crop keeps. Integer weights are PIL's
/// 8-bit-path fixed point: round-half-away(w * 2^22).
/// </summary>
internal sealed class AxisCoefficients
{
    /// <summary>PIL's PRECISION_BITS (32 - 8 - 2).</summary>
    public const int PrecisionBits = 22;

    private AxisCoefficients(int count, int kernelSize)
    {
        KernelSize = kernelSize;
        Start = new int[count];
        Taps = new int[count];
        Weights = new double[count * kernelSize];
        FixedWeights = new int[count * kernelSize];
    }

    /// <summary>Coefficients per output (the stride of <see cref="Weights"/>).</summary>
    public int KernelSize { get; }

    /// <summary>First input index per kept output.</summary>
    public int[] Start { get; }

    /// <summary>Number of inputs per kept output.</summary>
    public int[] Taps { get; }

    /// <summary>Normalised weights, [output, KernelSize].</summary>
    public double[] Weights { get; }

    /// <summary>Weights in PIL's fixed point, [output, KernelSize].</summary>
    public int[] FixedWeights { get; }

    /// <summary>First input index any kept output reads.</summary>
    public int FirstInput => Start.Length == 0 ? 0 : Start[0];

    /// <summary>One past the last input index any kept output reads.</summary>
    public int EndInput
    {
        get
        {
            var end = 0;
            for (var i = 0; i < Start.Length; i++)
            {
                end = Math.Max(end, Start[i] + Taps[i]);
            }
            return end;
        }
    }

    /// <summary>Each output copies its input (PIL skips a pass whose size does not change).</summary>
    public static AxisCoefficients Identity(int first, int count)
    {
        var axis = new AxisCoefficients(count, 1);
        for (var i = 0; i < count; i++)
        {
            axis.Start[i] = first + i;
            axis.Taps[i] = 1;
            axis.Weights[i] = 1.0;
            axis.FixedWeights[i] = 1 << PrecisionBits;
        }
        return axis;
    }

    /// <summary>
    /// PIL-style antialiased bicubic from <paramref name="inSize"/> to <paramref name="outSize"/>, for outputs
    /// [<paramref name="first"/>, <paramref name="first"/> + <paramref name="count"/>).
    /// </summary>
    public static AxisCoefficients Bicubic(int inSize, int outSize, int first, int count)
    {
        if (inSize == outSize)
        {
            return Identity(first, count);
        }
        const double filterSupport = 2.0;
        // Same double arithmetic and int truncations as Resample.c, so the bounds and weights match bit for bit.
        var scale = (double)inSize / outSize;
        var filterScale = Math.Max(scale, 1.0);
        var support = filterSupport * filterScale;
        var kernelSize = ((int)Math.Ceiling(support) * 2) + 1;
        var axis = new AxisCoefficients(count, kernelSize);
        var inverse = 1.0 / filterScale;
        for (var o = 0; o < count; o++)
        {
            var xx = first + o;
            var center = (xx + 0.5) * scale;
            var xmin = (int)(center - support + 0.5);
            if (xmin < 0)
            {
                xmin = 0;
            }
            var xmax = (int)(center + support + 0.5);
            if (xmax > inSize)
            {
                xmax = inSize;
            }
            xmax -= xmin;
            var k = axis.Weights.AsSpan(o * kernelSize, kernelSize);
            var sum = 0.0;
            for (var x = 0; x < xmax; x++)
            {
                var w = Cubic((x + xmin - center + 0.5) * inverse);
                k[x] = w;
                sum += w;
            }
            for (var x = 0; x < xmax; x++)
            {
                if (sum != 0.0)
                {
                    k[x] /= sum;
                }
            }
            var fixedK = axis.FixedWeights.AsSpan(o * kernelSize, kernelSize);
            for (var x = 0; x < xmax; x++)
            {
                fixedK[x] = k[x] < 0 ? (int)(-0.5 + (k[x] * (1 << PrecisionBits))) : (int)(0.5 + (k[x] * (1 << PrecisionBits)));
            }
            axis.Start[o] = xmin;
            axis.Taps[o] = xmax;
        }
        return axis;
    }

    /// <summary>
    /// torch's bilinear interpolation without antialiasing (align_corners=False), as torchvision 0.14's tensor
    /// Resize applies it: source = max(scale * (i + 0.5) - 0.5, 0) in float32, two taps clamped at the edge.
    /// </summary>
    public static AxisCoefficients Bilinear(int inSize, int outSize, int first, int count)
    {
        if (inSize == outSize)
        {
            return Identity(first, count);
        }
        var axis = new AxisCoefficients(count, 2);
        var scale = (float)inSize / outSize;
        for (var o = 0; o < count; o++)
        {
            var source = Math.Max((scale * (first + o + 0.5f)) - 0.5f, 0f);
            var i0 = (int)source;
            var lambda1 = Math.Min(source - i0, 1f);
            var lambda0 = 1f - lambda1;
            axis.Start[o] = i0;
            if (i0 < inSize - 1)
            {
                axis.Taps[o] = 2;
                axis.Weights[o * 2] = lambda0;
                axis.Weights[(o * 2) + 1] = lambda1;
            }
            else
            {
                axis.Taps[o] = 1;
                axis.Weights[o * 2] = lambda0 + lambda1;
            }
        }
        return axis;
    }

    // Keys' cubic convolution with a = -0.5, written as PIL writes it.
    private static double Cubic(double x)
    {
        const double a = -0.5;
        if (x < 0.0)
        {
            x = -x;
        }
        if (x < 1.0)
        {
            return ((((a + 2.0) * x) - (a + 3.0)) * x * x) + 1;
        }
        if (x < 2.0)
        {
            return ((((x - 5) * x) + 8) * x - 4) * a;
        }
        return 0.0;
    }
}
