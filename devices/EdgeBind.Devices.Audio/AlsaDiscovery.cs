using System.Globalization;
using System.Text.RegularExpressions;

namespace EdgeBind.Devices.Audio;

/// <summary>An ALSA capture device.</summary>
/// <param name="Card">Card number.</param>
/// <param name="Device">Device number on the card.</param>
/// <param name="CardId">The card's id (as in plughw:CARD=id).</param>
/// <param name="CardName">The card's long name.</param>
/// <param name="DeviceName">The PCM device's name.</param>
public sealed record AlsaCaptureDevice(int Card, int Device, string CardId, string CardName, string DeviceName)
{
    /// <summary>The PCM name to use in a pipeline: plughw converts rate and format when the hardware cannot.</summary>
    public string PcmName => $"plughw:CARD={CardId},DEV={Device}";
}

/// <summary>Lists ALSA capture devices from /proc/asound/cards and /proc/asound/pcm.</summary>
public static partial class AlsaDiscovery
{
    /// <summary>Finds capture devices under <paramref name="procAsound"/>.</summary>
    public static IReadOnlyList<AlsaCaptureDevice> Discover(string procAsound = "/proc/asound")
    {
        var cardsFile = Path.Combine(procAsound, "cards");
        var pcmFile = Path.Combine(procAsound, "pcm");
        if (!File.Exists(cardsFile) || !File.Exists(pcmFile))
        {
            return [];
        }
        var cards = new Dictionary<int, (string Id, string Name)>();
        foreach (var line in File.ReadLines(cardsFile))
        {
            // " 0 [PCH            ]: HDA-Intel - HDA Intel PCH"
            var m = CardLine().Match(line);
            if (m.Success)
            {
                cards[int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)] = (m.Groups[2].Value.Trim(), m.Groups[3].Value.Trim());
            }
        }
        var devices = new List<AlsaCaptureDevice>();
        foreach (var line in File.ReadLines(pcmFile))
        {
            // "00-00: ALC3246 Analog : ALC3246 Analog : playback 1 : capture 1"
            var m = PcmLine().Match(line);
            if (!m.Success || !line.Contains("capture", StringComparison.Ordinal))
            {
                continue;
            }
            var card = int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
            var device = int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture);
            var (id, name) = cards.TryGetValue(card, out var c) ? c : (card.ToString(CultureInfo.InvariantCulture), "");
            devices.Add(new AlsaCaptureDevice(card, device, id, name, m.Groups[3].Value.Trim()));
        }
        return devices;
    }

    [GeneratedRegex(@"^\s*(\d+)\s+\[([^\]]+)\]:\s*(.*)$")]
    private static partial Regex CardLine();

    [GeneratedRegex(@"^(\d+)-(\d+):\s*([^:]*)")]
    private static partial Regex PcmLine();
}
