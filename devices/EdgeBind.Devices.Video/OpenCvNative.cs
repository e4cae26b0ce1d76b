using EdgeBind.Core.IO;

namespace EdgeBind.Devices.Video;

/// <summary>OpenCV's native library (libOpenCvSharpExtern.so) and the Debian packages its dependencies come from.</summary>
public static class OpenCvNative
{
    /// <summary>
    /// The sonames libOpenCvSharpExtern.so (OpenCvSharp4.official.runtime.linux-x64) links against beyond glibc and
    /// libstdc++ (objdump -p: NEEDED), with the Debian 12 package of each. Its highgui module links GTK 3, so a
    /// headless machine needs these even though EdgeBind never opens a window.
    /// </summary>
    public static IReadOnlyDictionary<string, string> DebianPackages { get; } = new Dictionary<string, string>
    {
        ["libgtk-3.so.0"] = "libgtk-3-0",
        ["libgdk-3.so.0"] = "libgtk-3-0",
        ["libpangocairo-1.0.so.0"] = "libpangocairo-1.0-0",
        ["libpango-1.0.so.0"] = "libpango-1.0-0",
        ["libatk-1.0.so.0"] = "libatk1.0-0",
        ["libcairo-gobject.so.2"] = "libcairo-gobject2",
        ["libcairo.so.2"] = "libcairo2",
        ["libgdk_pixbuf-2.0.so.0"] = "libgdk-pixbuf-2.0-0",
        ["libgio-2.0.so.0"] = "libglib2.0-0",
        ["libgobject-2.0.so.0"] = "libglib2.0-0",
        ["libglib-2.0.so.0"] = "libglib2.0-0",
        ["libfreetype.so.6"] = "libfreetype6",
        ["libharfbuzz.so.0"] = "libharfbuzz0b",
        ["libdrm.so.2"] = "libdrm2",
        ["libatomic.so.1"] = "libatomic1",
        ["libX11.so.6"] = "libx11-6",
    };

    /// <summary>Throws <see cref="NativeDependencyException"/> (library, missing file, Debian package) unless OpenCV's native library loads.</summary>
    public static void EnsureLoadable() => NativeDependency.EnsureLoadable("OpenCvSharpExtern", typeof(OpenCvSharp.Mat).Assembly,
        "OpenCV (camera, video, image and depth/thermal frame files)", DebianPackages,
        "./demo.sh and ./test.sh install all of OpenCV's dependencies");
}
