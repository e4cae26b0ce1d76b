using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using EdgeBind.Devices.Audio;
using EdgeBind.Devices.Video;
using EdgeBind.Devices.Imu;

namespace EdgeBind.Cli.Commands;

/// <summary>
/// <c>edgebind devices list [--json]</c>: the cameras, microphones, serial ports and I2C buses on this machine,
/// each with the pipeline-file snippet that would use it; <c>edgebind devices types</c>: the source types.
/// </summary>
public static class DevicesCommand
{
    /// <summary>One device found, as printed.</summary>
    /// <param name="Kind">camera, microphone, serial or i2c.</param>
    /// <param name="Path">Device node or ALSA name.</param>
    /// <param name="Name">Human name.</param>
    /// <param name="Details">Formats, driver or adapter.</param>
    /// <param name="Snippet">A pipeline <c>sources</c> entry using it.</param>
    public sealed record Found(string Kind, string Path, string Name, string Details, string Snippet);

    /// <summary>Creates the command.</summary>
    public static Command Create()
    {
        var json = new Option<bool>("--json") { Description = "Print JSON instead of a table." };
        var list = new Command("list", "List cameras (V4L2), microphones (ALSA), serial ports and I2C buses, with pipeline snippets.") { json };
        list.SetAction(parse =>
        {
            var found = Discover();
            if (parse.GetValue(json))
            {
                Console.WriteLine(JsonSerializer.Serialize(found, JsonOptions));
            }
            else
            {
                Print(found);
            }
            return CliApp.ExitOk;
        });
        var types = new Command("types", "List the source types pipeline files can use.");
        types.SetAction(_ =>
        {
            foreach (var t in Composition.CreateRegistry().Types)
            {
                Console.WriteLine($"{t.Type,-22} {t.Modality.ToString().ToLowerInvariant(),-8} {t.Description}");
            }
            return CliApp.ExitOk;
        });
        return new Command("devices", "Discover devices and list source types.") { list, types };
    }

    private static readonly JsonSerializerOptions JsonOptions = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    /// <summary>Everything found on this machine.</summary>
    public static IReadOnlyList<Found> Discover()
    {
        var found = new List<Found>();
        foreach (var v in V4l2Discovery.Discover())
        {
            if (!v.CanCapture)
            {
                continue;
            }
            var y16 = v.Formats.Any(f => f.StartsWith("Y16", StringComparison.Ordinal));
            var z16 = v.Formats.Any(f => f.StartsWith("Z16", StringComparison.Ordinal));
            var type = z16 ? "depth.v4l2" : y16 ? "thermal.uvc" : "camera";
            var formats = v.Formats.Count > 0 ? string.Join(", ", v.Formats) : "formats unknown (cannot open the device)";
            found.Add(new Found("camera", v.Path, v.Name, (v.Driver.Length > 0 ? $"{v.Driver}: " : "") + formats,
                $"- type: {type}\n  id: {Id(v.Path)}\n  options: {{ device: {v.Path}{(type == "camera" ? ", width: 640, height: 480, fps: 30" : "")} }}"));
        }
        foreach (var a in AlsaDiscovery.Discover())
        {
            found.Add(new Found("microphone", a.PcmName, $"{a.CardName} / {a.DeviceName}", $"card {a.Card}, device {a.Device}",
                $"- type: audio.alsa\n  id: mic{a.Card}\n  options: {{ device: \"{a.PcmName}\", rate_hz: 48000, channels: 1, target_rate_hz: 16000 }}"));
        }
        foreach (var s in PortDiscovery.SerialPorts())
        {
            found.Add(new Found("serial", s.Path, System.IO.Path.GetFileName(s.Path), s.Description,
                $"- type: imu.serial\n  id: imu_{Id(s.Path)}\n  options: {{ port: {s.Path}, baud: 115200, rate_hz: 100 }}"));
        }
        foreach (var bus in PortDiscovery.I2cBuses())
        {
            var n = PortDiscovery.BusNumber(bus.Path).ToString(CultureInfo.InvariantCulture);
            found.Add(new Found("i2c", bus.Path, bus.Description.Length > 0 ? bus.Description : $"bus {n}", "IMU (MPU-6050 0x68, BNO055 0x28) or AMG88xx (0x68/0x69)",
                $"- type: imu.i2c.mpu6050\n  id: imu_i2c{n}\n  options: {{ bus_id: {n}, rate_hz: 100 }}\n- type: thermal.amg88xx\n  id: thermal_i2c{n}\n  options: {{ bus_id: {n}, address: 0x69 }}"));
        }
        return found;
    }

    private static string Id(string path) => System.IO.Path.GetFileName(path).Replace(':', '_').Replace(',', '_');

    private static void Print(IReadOnlyList<Found> found)
    {
        string[] kinds = ["camera", "microphone", "serial", "i2c"];
        string[] titles = ["Cameras (V4L2)", "Microphones (ALSA capture)", "Serial ports", "I2C buses"];
        if (found.Count == 0)
        {
            Console.WriteLine("No cameras (/dev/video*), microphones (/proc/asound), serial ports (/dev/ttyUSB*, ttyACM*, ttyS*) or I2C buses (/dev/i2c-*) found on this machine.");
            Console.WriteLine("File sources still work: camera.file, audio.wav, imu.file, depth.files, thermal.files, replay.mcap.* (see 'edgebind devices types').");
            return;
        }
        for (var k = 0; k < kinds.Length; k++)
        {
            var items = found.Where(f => f.Kind == kinds[k]).ToList();
            Console.WriteLine($"{titles[k]}: {(items.Count == 0 ? "none found" : items.Count.ToString(CultureInfo.InvariantCulture))}");
            foreach (var f in items)
            {
                Console.WriteLine($"  {f.Path}  {f.Name}");
                if (f.Details.Length > 0)
                {
                    Console.WriteLine($"    {f.Details}");
                }
                foreach (var line in f.Snippet.Split('\n'))
                {
                    Console.WriteLine($"    {line}");
                }
            }
        }
    }
}
