using EdgeBind.Core.Buffers;

namespace EdgeBind.Core.Windows;

/// <summary>Creates the windower a modality needs.</summary>
public static class Windowers
{
    /// <summary>A windower for <paramref name="modality"/> with <paramref name="options"/>, renting windows from <paramref name="pool"/>.</summary>
    public static IWindower Create(Modality modality, WindowOptions options, LeasePool<Window> pool) => modality switch
    {
        Modality.Audio => new AudioWindower(options, pool),
        Modality.Imu => new ImuWindower(options, pool),
        Modality.Vision or Modality.Video or Modality.Depth or Modality.Thermal => new FrameWindower(modality, options, pool),
        _ => throw new ArgumentException($"no windower for {modality.ToConfigName()}: sources of that modality do not stream", nameof(modality)),
    };
}
