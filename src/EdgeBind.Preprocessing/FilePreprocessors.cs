using EdgeBind.Core;
using EdgeBind.Preprocessing.Depth;
using EdgeBind.Preprocessing.Imu;
using EdgeBind.Preprocessing.Thermal;
using EdgeBind.Preprocessing.Vision;

namespace EdgeBind.Preprocessing;

/// <summary>The file preprocessor of each modality, with default settings (for the CLI and tools).</summary>
public static class FilePreprocessors
{
    /// <summary>
    /// Creates the preprocessor for <paramref name="modality"/> with its documented defaults.
    /// Throws <see cref="NotSupportedException"/> for modalities without a file preprocessor.
    /// </summary>
    public static IFilePreprocessor Create(Modality modality) => modality switch
    {
        Modality.Vision => new VisionPreprocessor(),
        Modality.Depth => new DepthPreprocessor(),
        Modality.Thermal => new ThermalPreprocessor(),
        Modality.Imu => new ImuPreprocessor(),
        Modality.Audio => new Audio.AudioPreprocessor(),
        Modality.Video => new Video.VideoPreprocessor(),
        _ => throw new NotSupportedException($"no file preprocessing for modality '{modality.ToConfigName()}'; expected vision, video, audio, depth, thermal or imu"),
    };

    /// <summary>Number of floats in one item of <paramref name="preprocessor"/>'s output.</summary>
    public static int ItemLength(this IFilePreprocessor preprocessor)
    {
        ArgumentNullException.ThrowIfNull(preprocessor);
        var length = 1;
        foreach (var d in preprocessor.ItemShape)
        {
            length *= d;
        }
        return length;
    }
}
