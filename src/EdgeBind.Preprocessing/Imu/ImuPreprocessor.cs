using System.Globalization;
using System.Runtime.InteropServices;
using EdgeBind.Core;
using EdgeBind.Core.IO;
using EdgeBind.Core.Windows;
using EdgeBind.Preprocessing.Settings;

namespace EdgeBind.Preprocessing.Imu;

/// <summary>
/// IMU recordings to float32 [6, samples] channel-major (ax, ay, az in m/s^2, gx, gy, gz in rad/s, then
/// the optional per-channel scale). Input: CSV with the header <c>t,ax,ay,az,gx,gy,gz</c> (t in seconds),
/// or a float32/float64 .npy of shape [N, 7] in the same column order.
/// <para>
/// The samples are linearly interpolated (in float64) onto the grid t0 + k / rate_hz, k = 0 .. samples-1,
/// where t0 is the first timestamp. Grid points after the last timestamp hold the last sample (a short
/// recording is padded by repeating its last sample; zeros would fake free fall on the accelerometer).
/// This is exactly <c>numpy.interp</c>, which the fixture generator uses. Timestamps must increase strictly;
/// non-finite values are refused with the file and row.
/// </para>
/// </summary>
public sealed class ImuPreprocessor : IFilePreprocessor
{
    private const int Columns = 7;
    private static readonly string[] ColumnNames = ["t", "ax", "ay", "az", "gx", "gy", "gz"];

    private static ReadOnlySpan<byte> NpyMagic => [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y'];

    private readonly ImuSettings _settings;
    private readonly int[] _shape;

    /// <summary>Creates the preprocessor with ImageBind's defaults (200 Hz, 2000 samples, no scaling).</summary>
    public ImuPreprocessor()
        : this(new ImuSettings())
    {
    }

    /// <summary>Creates the preprocessor with <paramref name="settings"/> (validated by the caller's loader).</summary>
    public ImuPreprocessor(ImuSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        _settings = settings;
        _shape = [ImuSettings.Channels, settings.Samples];
    }

    /// <inheritdoc />
    public Modality Modality => Modality.Imu;

    /// <inheritdoc />
    public IReadOnlyList<int> ItemShape => _shape;

    /// <inheritdoc />
    public void ProcessFile(string path, Span<float> destination)
    {
        ArgumentNullException.ThrowIfNull(path);
        CheckDestination(destination);
        var bytes = File.ReadAllBytes(path);
        var rows = bytes.AsSpan().StartsWith(NpyMagic)
            ? ReadNpy(bytes, path)
            : ReadCsv(bytes, path);
        Resample(rows, destination);
    }

    /// <summary>
    /// Applies the per-channel scale to a window already on the grid (planar [6, samples], as the IMU windower
    /// produces) and writes it into <paramref name="destination"/>. Allocates nothing.
    /// </summary>
    public void Process(Window window, Span<float> destination)
    {
        ArgumentNullException.ThrowIfNull(window);
        CheckDestination(destination);
        if (window.Channels != ImuSettings.Channels || window.Length != _settings.Samples)
        {
            throw new ArgumentException($"IMU window is [{window.Channels}, {window.Length}]; expected [{ImuSettings.Channels}, {_settings.Samples}]", nameof(window));
        }
        var samples = window.Samples;
        var length = _settings.Samples;
        for (var c = 0; c < ImuSettings.Channels; c++)
        {
            var scale = (float)_settings.ScaleOf(c);
            var source = samples.Slice(c * length, length);
            var target = destination.Slice(c * length, length);
            for (var i = 0; i < length; i++)
            {
                target[i] = source[i] * scale;
            }
        }
    }

    private void CheckDestination(Span<float> destination)
    {
        var needed = ImuSettings.Channels * _settings.Samples;
        if (destination.Length < needed)
        {
            throw new ArgumentException($"destination holds {destination.Length} floats; expected at least {needed} ([6,{_settings.Samples}])", nameof(destination));
        }
    }

    private void Resample(double[] rows, Span<float> destination)
    {
        var count = rows.Length / Columns;
        var samples = _settings.Samples;
        var t0 = rows[0];
        var j = 0;
        for (var k = 0; k < samples; k++)
        {
            var t = t0 + (k / _settings.RateHz);
            while (j + 1 < count && rows[(j + 1) * Columns] <= t)
            {
                j++;
            }
            var last = j + 1 >= count;
            for (var c = 0; c < ImuSettings.Channels; c++)
            {
                double value;
                if (last)
                {
                    value = rows[(j * Columns) + 1 + c];
                }
                else
                {
                    // numpy.interp: slope * (x - xp[j]) + fp[j].
                    var x0 = rows[j * Columns];
                    var x1 = rows[(j + 1) * Columns];
                    var y0 = rows[(j * Columns) + 1 + c];
                    var y1 = rows[((j + 1) * Columns) + 1 + c];
                    value = ((y1 - y0) / (x1 - x0) * (t - x0)) + y0;
                }
                destination[(c * samples) + k] = (float)(value * _settings.ScaleOf(c));
            }
        }
    }

    private static double[] ReadNpy(byte[] bytes, string path)
    {
        var array = NpyFile.Parse(bytes, path);
        if (array.Shape.Count != 2 || array.Shape[1] != Columns || array.DType is not (NpyDType.Float32 or NpyDType.Float64))
        {
            throw new InvalidDataException($"{path}: expected a float32 array of shape [N, 7] (t, ax, ay, az, gx, gy, gz); found {array.DType} [{string.Join(", ", array.Shape)}]");
        }
        var values = new double[array.Shape[0] * Columns];
        if (array.DType == NpyDType.Float64)
        {
            MemoryMarshal.Cast<byte, double>(array.Data).CopyTo(values);
        }
        else
        {
            var floats = MemoryMarshal.Cast<byte, float>(array.Data);
            for (var i = 0; i < values.Length; i++)
            {
                values[i] = floats[i];
            }
        }
        Validate(values, path, lines: null);
        return values;
    }

    private static double[] ReadCsv(byte[] bytes, string path)
    {
        string text;
        try
        {
            text = new System.Text.UTF8Encoding(false, throwOnInvalidBytes: true).GetString(bytes);
        }
        catch (System.Text.DecoderFallbackException)
        {
            throw new InvalidDataException($"{path}: not a text CSV or .npy file");
        }
        var values = new List<double>();
        var lines = new List<int>();
        var lineNumber = 0;
        var sawHeader = false;
        foreach (var raw in text.AsSpan().EnumerateLines())
        {
            lineNumber++;
            var line = raw.Trim();
            if (line.IsEmpty)
            {
                continue;
            }
            if (!sawHeader)
            {
                if (!IsHeader(line))
                {
                    throw new InvalidDataException($"{path}: line {lineNumber}: expected the header 't,ax,ay,az,gx,gy,gz', found '{TextClip.Clip(line)}'");
                }
                sawHeader = true;
                continue;
            }
            lines.Add(lineNumber);
            var column = 0;
            foreach (var range in line.Split(','))
            {
                if (column == Columns)
                {
                    column++;
                    break;
                }
                var field = line[range].Trim();
                if (!double.TryParse(field, NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
                {
                    throw new InvalidDataException($"{path}: line {lineNumber}: column '{ColumnNames[column]}' is '{TextClip.Clip(field)}', not a number");
                }
                if (!double.IsFinite(value))
                {
                    throw new InvalidDataException($"{path}: line {lineNumber} (data row {lines.Count}): column '{ColumnNames[column]}' is not finite ({TextClip.Clip(field)})");
                }
                values.Add(value);
                column++;
            }
            if (column != Columns)
            {
                throw new InvalidDataException($"{path}: line {lineNumber}: expected 7 comma-separated values (t,ax,ay,az,gx,gy,gz), found {(column > Columns ? "more" : column.ToString(CultureInfo.InvariantCulture))}");
            }
        }
        if (!sawHeader)
        {
            throw new InvalidDataException($"{path}: empty file; expected the header 't,ax,ay,az,gx,gy,gz' and at least one row");
        }
        var result = values.ToArray();
        Validate(result, path, lines);
        return result;
    }

    private static string Where(int row, List<int>? lines) =>
        lines is null ? $"row {row}" : $"line {lines[row]} (data row {row + 1})";

    private static bool IsHeader(ReadOnlySpan<char> line)
    {
        var column = 0;
        foreach (var range in line.Split(','))
        {
            if (column >= Columns || !line[range].Trim().Equals(ColumnNames[column], StringComparison.OrdinalIgnoreCase))
            {
                return false;
            }
            column++;
        }
        return column == Columns;
    }

    /// <summary>Checks values are finite and times increase; CSV rows are named by file line, .npy rows by 0-based index.</summary>
    private static void Validate(double[] values, string path, List<int>? lines)
    {
        var count = values.Length / Columns;
        if (count == 0)
        {
            throw new InvalidDataException($"{path}: no samples; expected at least one row");
        }
        for (var r = 0; r < count; r++)
        {
            for (var c = 0; c < Columns; c++)
            {
                if (!double.IsFinite(values[(r * Columns) + c]))
                {
                    throw new InvalidDataException($"{path}: {Where(r, lines)}: column '{ColumnNames[c]}' is not finite ({values[(r * Columns) + c].ToString(CultureInfo.InvariantCulture)})");
                }
            }
            if (r > 0 && values[r * Columns] <= values[(r - 1) * Columns])
            {
                throw new InvalidDataException(
                    $"{path}: {Where(r, lines)}: time {values[r * Columns].ToString(CultureInfo.InvariantCulture)} s does not increase (previous row: {values[(r - 1) * Columns].ToString(CultureInfo.InvariantCulture)} s)");
            }
        }
    }
}
