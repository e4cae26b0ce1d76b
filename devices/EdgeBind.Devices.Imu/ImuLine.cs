using System.Globalization;

namespace EdgeBind.Devices.Imu;

/// <summary>One IMU reading: device time and six channels in SI units.</summary>
public struct ImuReading
{
    /// <summary>Device time, s.</summary>
    public double TimeS;

    /// <summary>Acceleration x, y, z, m/s^2.</summary>
    public float Ax, Ay, Az;

    /// <summary>Angular rate x, y, z, rad/s.</summary>
    public float Gx, Gy, Gz;
}

/// <summary>What <see cref="ImuLine.Parse"/> made of a line.</summary>
public enum ImuLineResult
{
    /// <summary>A good reading.</summary>
    Ok,
    /// <summary>A blank line, a comment (#) or the CSV header: ignored, not an error.</summary>
    Skip,
    /// <summary>Not seven numbers (garbage or a partial line).</summary>
    Garbage,
    /// <summary>The <c>*XX</c> checksum does not match.</summary>
    BadChecksum,
    /// <summary>A non-finite value or one beyond the configured ranges.</summary>
    OutOfRange,
}

/// <summary>
/// The serial/file IMU line protocol: <c>t,ax,ay,az,gx,gy,gz</c> in s, m/s^2 and rad/s, one reading per line
/// (CR, LF or CRLF). An NMEA-style checksum may follow: <c>[$]t,ax,ay,az,gx,gy,gz*XX</c>, where XX is the XOR of
/// every character after the optional leading <c>$</c> and before <c>*</c>, as two hex digits. Lines starting
/// with <c>#</c> and a header line starting with <c>t,</c> are ignored.
/// </summary>
public static class ImuLine
{
    /// <summary>Default acceleration bound, m/s^2 (16 g).</summary>
    public const double DefaultMaxAccel = 16 * 9.80665;

    /// <summary>Default angular-rate bound, rad/s (2000 degrees/s).</summary>
    public const double DefaultMaxGyro = 2000 * Math.PI / 180;

    /// <summary>Parses one line (without its line break).</summary>
    public static ImuLineResult Parse(ReadOnlySpan<char> line, out ImuReading reading, double maxAccel = DefaultMaxAccel, double maxGyro = DefaultMaxGyro)
    {
        reading = default;
        line = line.Trim();
        if (line.IsEmpty || line[0] == '#' || (line.Length > 1 && line[0] == 't' && line[1] == ','))
        {
            return ImuLineResult.Skip;
        }
        if (line[0] == '$')
        {
            line = line[1..];
        }
        var star = line.IndexOf('*');
        if (star >= 0)
        {
            var hex = line[(star + 1)..];
            if (hex.Length != 2 || !byte.TryParse(hex, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var expected))
            {
                return ImuLineResult.Garbage;
            }
            byte sum = 0;
            foreach (var c in line[..star])
            {
                sum ^= (byte)c;
            }
            if (sum != expected)
            {
                return ImuLineResult.BadChecksum;
            }
            line = line[..star];
        }
        Span<double> values = stackalloc double[7];
        var count = 0;
        foreach (var range in line.Split(','))
        {
            if (count == 7 || !double.TryParse(line[range], NumberStyles.Float, CultureInfo.InvariantCulture, out values[count]))
            {
                return ImuLineResult.Garbage;
            }
            count++;
        }
        if (count != 7)
        {
            return ImuLineResult.Garbage;
        }
        foreach (var v in values)
        {
            if (!double.IsFinite(v))
            {
                return ImuLineResult.OutOfRange;
            }
        }
        if (values[0] < 0 || Math.Abs(values[1]) > maxAccel || Math.Abs(values[2]) > maxAccel || Math.Abs(values[3]) > maxAccel
            || Math.Abs(values[4]) > maxGyro || Math.Abs(values[5]) > maxGyro || Math.Abs(values[6]) > maxGyro)
        {
            return ImuLineResult.OutOfRange;
        }
        reading = new ImuReading
        {
            TimeS = values[0],
            Ax = (float)values[1], Ay = (float)values[2], Az = (float)values[3],
            Gx = (float)values[4], Gy = (float)values[5], Gz = (float)values[6],
        };
        return ImuLineResult.Ok;
    }

    /// <summary>Formats a reading as a protocol line (without line break), with a checksum when asked.</summary>
    public static string Format(in ImuReading r, bool checksum)
    {
        var body = string.Create(CultureInfo.InvariantCulture, $"{r.TimeS:R},{r.Ax:R},{r.Ay:R},{r.Az:R},{r.Gx:R},{r.Gy:R},{r.Gz:R}");
        if (!checksum)
        {
            return body;
        }
        byte sum = 0;
        foreach (var c in body)
        {
            sum ^= (byte)c;
        }
        return string.Create(CultureInfo.InvariantCulture, $"${body}*{sum:X2}");
    }
}
