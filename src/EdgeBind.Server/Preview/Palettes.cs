using OpenCvSharp;

namespace EdgeBind.Server.Preview;

/// <summary>The false-colour palettes previews use, as 256 RGB triplets so the dashboard can draw the scale.</summary>
public static class Palettes
{
    /// <summary>Palette of depth previews (near = dark blue ... far = dark red).</summary>
    public const string Depth = "turbo";

    /// <summary>Palette of thermal previews (cold = black ... hot = pale yellow).</summary>
    public const string Thermal = "inferno";

    private static readonly Lazy<IReadOnlyDictionary<string, byte[]>> Table = new(() => new Dictionary<string, byte[]>(StringComparer.Ordinal)
    {
        [Depth] = Build(ColormapTypes.Turbo),
        [Thermal] = Build(ColormapTypes.Inferno),
    });

    /// <summary>Every palette by name: 768 bytes, R G B for values 0..255.</summary>
    public static IReadOnlyDictionary<string, byte[]> All => Table.Value;

    internal static ColormapTypes ColormapOf(string name) => name == Depth ? ColormapTypes.Turbo : ColormapTypes.Inferno;

    private static byte[] Build(ColormapTypes map)
    {
        using var ramp = new Mat(1, 256, MatType.CV_8UC1);
        for (var i = 0; i < 256; i++)
        {
            ramp.Set(0, i, (byte)i);
        }
        using var colours = new Mat();
        Cv2.ApplyColorMap(ramp, colours, map);
        var rgb = new byte[768];
        for (var i = 0; i < 256; i++)
        {
            var bgr = colours.Get<Vec3b>(0, i);
            rgb[3 * i] = bgr.Item2;
            rgb[3 * i + 1] = bgr.Item1;
            rgb[3 * i + 2] = bgr.Item0;
        }
        return rgb;
    }
}
