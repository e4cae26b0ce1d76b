using System.IO.Ports;
using EdgeBind.Core.IO;

namespace EdgeBind.Devices.Imu;

/// <summary>A serial port or I2C bus found on this machine.</summary>
/// <param name="Path">Device node.</param>
/// <param name="Description">What sysfs says about it (driver, adapter name), if anything.</param>
public sealed record PortInfo(string Path, string Description);

/// <summary>Lists serial ports (USB, ACM, on-board UARTs) and I2C buses.</summary>
public static class PortDiscovery
{
    private static readonly string[] SerialPatterns = ["ttyUSB*", "ttyACM*", "ttyAMA*", "ttyTHS*", "ttyS*"];

    /// <summary>Serial ports under <paramref name="devRoot"/>, USB ones first.</summary>
    public static IReadOnlyList<PortInfo> SerialPorts(string devRoot = "/dev", string sysRoot = "/sys")
    {
        var paths = new SortedSet<string>(StringComparer.Ordinal);
        if (Directory.Exists(devRoot))
        {
            foreach (var pattern in SerialPatterns)
            {
                foreach (var p in Directory.EnumerateFileSystemEntries(devRoot, pattern))
                {
                    paths.Add(p);
                }
            }
        }
        if (devRoot == "/dev")
        {
            foreach (var p in SerialPort.GetPortNames())
            {
                paths.Add(p);
            }
        }
        var ports = new List<PortInfo>();
        foreach (var path in paths.OrderBy(p => Array.FindIndex(SerialPatterns, s => Path.GetFileName(p).StartsWith(s.TrimEnd('*'), StringComparison.Ordinal))).ThenBy(p => p, NaturalOrder.Instance))
        {
            var name = Path.GetFileName(path);
            var sys = Path.Combine(sysRoot, "class", "tty", name);
            var driver = LinkName(Path.Combine(sys, "device", "driver"));
            var uartType = DeviceFiles.ReadText(Path.Combine(sys, "type"));
            // The 8250 driver creates ttyS0..31 whether or not a UART is there; sysfs type 0 (PORT_UNKNOWN) means none.
            if (name.StartsWith("ttyS", StringComparison.Ordinal) && uartType is null or "0" && driver is null or "serial8250" or "port")
            {
                continue;
            }
            var ioPort = DeviceFiles.ReadText(Path.Combine(sys, "port"));
            var description = uartType is not null && ioPort is not null ? $"UART (type {uartType}) at {ioPort}" : driver ?? "";
            ports.Add(new PortInfo(path, description));
        }
        return ports;
    }

    /// <summary>I2C buses under <paramref name="devRoot"/>, with their adapter names.</summary>
    public static IReadOnlyList<PortInfo> I2cBuses(string devRoot = "/dev", string sysRoot = "/sys")
    {
        if (!Directory.Exists(devRoot))
        {
            return [];
        }
        return Directory.EnumerateFileSystemEntries(devRoot, "i2c-*")
            .OrderBy(p => p, NaturalOrder.Instance)
            .Select(p =>
            {
                var nameFile = Path.Combine(sysRoot, "class", "i2c-dev", Path.GetFileName(p), "name");
                var name = DeviceFiles.ReadText(nameFile) ?? "";
                return new PortInfo(p, name);
            })
            .ToList();
    }

    /// <summary>The bus number of /dev/i2c-N.</summary>
    public static int BusNumber(string path) =>
        int.TryParse(Path.GetFileName(path).AsSpan(4), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n) ? n : -1;

    private static string? LinkName(string link)
    {
        try
        {
            var info = new FileInfo(link);
            return info.LinkTarget is { } target ? Path.GetFileName(target) : null;
        }
        catch (IOException)
        {
            return null;
        }
    }
}
