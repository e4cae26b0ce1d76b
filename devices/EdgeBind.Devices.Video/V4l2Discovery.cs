using System.Runtime.InteropServices;
using System.Text;
using EdgeBind.Core.IO;

namespace EdgeBind.Devices.Video;

/// <summary>A V4L2 video device found on this machine.</summary>
/// <param name="Path">Device node, e.g. /dev/video0.</param>
/// <param name="Name">The driver's card name (sysfs <c>name</c> or VIDIOC_QUERYCAP).</param>
/// <param name="Driver">Kernel driver (empty when the device could not be queried).</param>
/// <param name="CanCapture">True when it is a video capture node (metadata nodes are not).</param>
/// <param name="Formats">Capture pixel formats as four-character codes with descriptions, e.g. "YUYV (YUYV 4:2:2)".</param>
public sealed record V4l2Device(string Path, string Name, string Driver, bool CanCapture, IReadOnlyList<string> Formats);

/// <summary>
/// Lists V4L2 devices: names from /sys/class/video4linux, capabilities and capture formats through the
/// VIDIOC_QUERYCAP and VIDIOC_ENUM_FMT ioctls when the node can be opened.
/// </summary>
public static class V4l2Discovery
{
    private const uint VidiocQuerycap = 0x80685600; // _IOR('V', 0, struct v4l2_capability), 104 bytes
    private const uint VidiocEnumFmt = 0xC0405602;  // _IOWR('V', 2, struct v4l2_fmtdesc), 64 bytes
    private const uint CapVideoCapture = 0x1;
    private const uint CapDeviceCaps = 0x80000000;
    private const int BufTypeVideoCapture = 1;

    /// <summary>Finds video devices under <paramref name="devRoot"/> (named from <paramref name="sysRoot"/>).</summary>
    public static IReadOnlyList<V4l2Device> Discover(string devRoot = "/dev", string sysRoot = "/sys")
    {
        if (!Directory.Exists(devRoot))
        {
            return [];
        }
        var devices = new List<V4l2Device>();
        foreach (var path in Directory.EnumerateFileSystemEntries(devRoot, "video*").Order(NaturalOrder.Instance))
        {
            var node = System.IO.Path.GetFileName(path);
            var name = DeviceFiles.ReadText(System.IO.Path.Combine(sysRoot, "class", "video4linux", node, "name")) ?? node;
            var (driver, card, canCapture, formats) = Query(path);
            devices.Add(new V4l2Device(path, card ?? name, driver ?? "", canCapture ?? true, formats));
        }
        return devices;
    }

    private static unsafe (string? Driver, string? Card, bool? CanCapture, IReadOnlyList<string> Formats) Query(string path)
    {
        int fd;
        try
        {
            fd = Libc.open(path, Libc.ORdWr | Libc.ONonBlock);
        }
        catch (DllNotFoundException)
        {
            return (null, null, null, []);
        }
        if (fd < 0)
        {
            return (null, null, null, []);
        }
        try
        {
            var cap = stackalloc byte[104];
            if (Libc.ioctl(fd, VidiocQuerycap, cap) < 0)
            {
                return (null, null, null, []);
            }
            var driver = CString(new ReadOnlySpan<byte>(cap, 16));
            var card = CString(new ReadOnlySpan<byte>(cap + 16, 32));
            var capabilities = *(uint*)(cap + 84);
            var deviceCaps = *(uint*)(cap + 88);
            var effective = (capabilities & CapDeviceCaps) != 0 ? deviceCaps : capabilities;
            var canCapture = (effective & CapVideoCapture) != 0;
            var formats = new List<string>();
            var desc = stackalloc byte[64];
            for (uint index = 0; index < 64 && canCapture; index++)
            {
                new Span<byte>(desc, 64).Clear();
                *(uint*)desc = index;
                *(uint*)(desc + 4) = BufTypeVideoCapture;
                if (Libc.ioctl(fd, VidiocEnumFmt, desc) < 0)
                {
                    break;
                }
                var description = CString(new ReadOnlySpan<byte>(desc + 12, 32));
                var pixel = *(uint*)(desc + 44);
                var fourcc = Encoding.ASCII.GetString([(byte)pixel, (byte)(pixel >> 8), (byte)(pixel >> 16), (byte)(pixel >> 24)]).TrimEnd();
                formats.Add($"{fourcc} ({description})");
            }
            return (driver, card, canCapture, formats);
        }
        finally
        {
            _ = Libc.close(fd);
        }
    }

    private static string CString(ReadOnlySpan<byte> bytes)
    {
        var end = bytes.IndexOf((byte)0);
        return Encoding.UTF8.GetString(end < 0 ? bytes : bytes[..end]);
    }

    private static class Libc
    {
        public const int ORdWr = 2;
        public const int ONonBlock = 0x800;

        [DllImport("libc", SetLastError = true)]
        public static extern int open([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags);

        [DllImport("libc", SetLastError = true)]
        public static extern unsafe int ioctl(int fd, nuint request, void* arg);

        [DllImport("libc")]
        public static extern int close(int fd);
    }
}
