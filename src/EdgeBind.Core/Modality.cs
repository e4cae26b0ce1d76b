namespace EdgeBind.Core;

/// <summary>The kinds of sensor data EdgeBind embeds into one joint space.</summary>
public enum Modality
{
    /// <summary>Still RGB images or single camera frames.</summary>
    Vision,
    /// <summary>Camera streams treated as video (frames over time).</summary>
    Video,
    /// <summary>Audio waveforms.</summary>
    Audio,
    /// <summary>Text (queries and captions).</summary>
    Text,
    /// <summary>Metric depth maps.</summary>
    Depth,
    /// <summary>Thermal images (temperatures or raw sensor counts).</summary>
    Thermal,
    /// <summary>Six-axis inertial data: accelerometer (m/s^2) and gyroscope (rad/s).</summary>
    Imu,
}

/// <summary>Parsing and naming helpers for <see cref="Modality"/>.</summary>
public static class ModalityNames
{
    /// <summary>The lower-case name used in pipeline files, manifests and CLI options.</summary>
    public static string ToConfigName(this Modality modality) => modality switch
    {
        Modality.Vision => "vision",
        Modality.Video => "video",
        Modality.Audio => "audio",
        Modality.Text => "text",
        Modality.Depth => "depth",
        Modality.Thermal => "thermal",
        Modality.Imu => "imu",
        _ => throw new ArgumentOutOfRangeException(nameof(modality), modality, "unknown modality"),
    };

    /// <summary>Parses a lower-case modality name; returns false for anything else.</summary>
    public static bool TryParse(string? text, out Modality modality)
    {
        foreach (var m in Enum.GetValues<Modality>())
        {
            if (string.Equals(m.ToConfigName(), text, StringComparison.OrdinalIgnoreCase))
            {
                modality = m;
                return true;
            }
        }
        modality = default;
        return false;
    }

    /// <summary>All names accepted by <see cref="TryParse"/>, comma separated, for error messages.</summary>
    public static string AllNames => string.Join(", ", Enum.GetValues<Modality>().Select(m => m.ToConfigName()));

    /// <summary>True for modalities whose samples are frames (images) rather than sample streams.</summary>
    public static bool IsFrameModality(this Modality modality) =>
        modality is Modality.Vision or Modality.Video or Modality.Depth or Modality.Thermal;
}
