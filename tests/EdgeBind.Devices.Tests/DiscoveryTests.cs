using EdgeBind.Devices.Audio;
using EdgeBind.Devices.Video;
using EdgeBind.Devices.Imu;

namespace EdgeBind.Devices.Tests;

/// <summary>Discovery against fake /dev, /sys and /proc/asound trees laid out as Linux does.</summary>
public sealed class DiscoveryTests
{
    [Fact]
    public void Video_devices_are_named_from_sysfs_in_natural_order()
    {
        using var dir = new TempDir();
        var dev = Directory.CreateDirectory(dir.File("dev")).FullName;
        foreach (var (node, name) in new[] { ("video10", "Depth Camera"), ("video2", "USB2.0 HD UVC WebCam"), ("video0", "Integrated") })
        {
            File.WriteAllText(Path.Combine(dev, node), "");
            var sys = Directory.CreateDirectory(dir.File($"sys/class/video4linux/{node}")).FullName;
            File.WriteAllText(Path.Combine(sys, "name"), name + "\n");
        }
        var found = V4l2Discovery.Discover(dev, dir.File("sys"));
        Assert.Equal(["video0", "video2", "video10"], found.Select(d => Path.GetFileName(d.Path)));
        Assert.Equal(["Integrated", "USB2.0 HD UVC WebCam", "Depth Camera"], found.Select(d => d.Name));
        // Plain files answer no ioctl: no formats, but still listed.
        Assert.All(found, d => Assert.Empty(d.Formats));
    }

    [Fact]
    public void Alsa_capture_devices_come_from_cards_and_pcm()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("cards"), """
             0 [PCH            ]: HDA-Intel - HDA Intel PCH
                                  HDA Intel PCH at 0xf7f10000 irq 32
             1 [Device         ]: USB-Audio - USB PnP Sound Device
                                  C-Media Electronics Inc. USB PnP Sound Device at usb-0000:00:14.0-2, full speed
            """);
        File.WriteAllText(dir.File("pcm"), """
            00-00: ALC3246 Analog : ALC3246 Analog : playback 1 : capture 1
            00-03: HDMI 0 : HDMI 0 : playback 1
            01-00: USB Audio : USB Audio : playback 1 : capture 1
            """);
        var found = AlsaDiscovery.Discover(dir.Path);
        Assert.Equal(2, found.Count);
        Assert.Equal("plughw:CARD=PCH,DEV=0", found[0].PcmName);
        Assert.Equal("ALC3246 Analog", found[0].DeviceName);
        Assert.Equal("plughw:CARD=Device,DEV=0", found[1].PcmName);
        Assert.Equal("USB-Audio - USB PnP Sound Device", found[1].CardName);
        Assert.Empty(AlsaDiscovery.Discover(dir.File("nothing-here")));
    }

    [Fact]
    public void Serial_ports_skip_placeholder_uarts_and_i2c_buses_are_named()
    {
        using var dir = new TempDir();
        var dev = Directory.CreateDirectory(dir.File("dev")).FullName;
        foreach (var node in new[] { "ttyS0", "ttyS1", "ttyUSB0", "ttyACM1", "i2c-1", "i2c-10", "tty0" })
        {
            File.WriteAllText(Path.Combine(dev, node), "");
        }
        var s0 = Directory.CreateDirectory(dir.File("sys/class/tty/ttyS0")).FullName;
        File.WriteAllText(Path.Combine(s0, "type"), "4\n");
        File.WriteAllText(Path.Combine(s0, "port"), "0x3F8\n");
        var s1 = Directory.CreateDirectory(dir.File("sys/class/tty/ttyS1")).FullName;
        File.WriteAllText(Path.Combine(s1, "type"), "0\n");
        var i2c = Directory.CreateDirectory(dir.File("sys/class/i2c-dev/i2c-1")).FullName;
        File.WriteAllText(Path.Combine(i2c, "name"), "bcm2835 (i2c@7e804000)\n");

        var serial = PortDiscovery.SerialPorts(dev, dir.File("sys"));
        Assert.Equal(["ttyUSB0", "ttyACM1", "ttyS0"], serial.Select(p => Path.GetFileName(p.Path)));
        Assert.Equal("UART (type 4) at 0x3F8", serial[2].Description);

        var buses = PortDiscovery.I2cBuses(dev, dir.File("sys"));
        Assert.Equal(["i2c-1", "i2c-10"], buses.Select(p => Path.GetFileName(p.Path)));
        Assert.Equal("bcm2835 (i2c@7e804000)", buses[0].Description);
        Assert.Equal(10, PortDiscovery.BusNumber(buses[1].Path));
    }
}
