using System.Text;
using EdgeBind.Core.IO;
using EdgeBind.Devices.Imu;
using EdgeBind.Devices.Replay.Mcap;
using EdgeBind.Sinks;

namespace EdgeBind.Fuzz;

/// <summary>Writes the seed corpus (fuzz/corpus/TARGET/*): small valid inputs of every format variant the readers take.</summary>
public static class Seeds
{
    /// <summary>Writes every target's seeds under <paramref name="root"/>.</summary>
    public static void Write(string root)
    {
        var wav = Folder(root, "wav");
        File.WriteAllBytes(Path.Combine(wav, "pcm16-mono.wav"), Wav(1, 16000, 16, 1, 64));
        File.WriteAllBytes(Path.Combine(wav, "pcm24-stereo.wav"), Wav(1, 48000, 24, 2, 32));
        File.WriteAllBytes(Path.Combine(wav, "pcm8.wav"), Wav(1, 8000, 8, 1, 32));
        File.WriteAllBytes(Path.Combine(wav, "float32.wav"), Wav(3, 44100, 32, 1, 32));
        File.WriteAllBytes(Path.Combine(wav, "extensible.wav"), Wav(0xFFFE, 16000, 16, 2, 16));

        var npy = Folder(root, "npy");
        var scratch = Path.Combine(npy, "tmp.npy");
        NpyFile.Write(scratch, new float[] { 1, 2, 3, 4, 5, 6 }, 2, 3);
        File.Move(scratch, Path.Combine(npy, "f4-2x3.npy"), overwrite: true);
        NpyFile.Write(scratch, new long[] { 49406, 320, 49407 }, 3);
        File.Move(scratch, Path.Combine(npy, "i8-3.npy"), overwrite: true);
        File.WriteAllBytes(Path.Combine(npy, "u2-v2.npy"), NpyV2("{'descr': '<u2', 'fortran_order': False, 'shape': (2, 2), }", 8));

        var imu = Folder(root, "imu-line");
        var reading = new ImuReading { TimeS = 1, Ax = 0.1f, Ay = -0.2f, Az = 9.81f, Gx = 0.01f, Gy = 0.02f, Gz = -0.03f };
        File.WriteAllText(Path.Combine(imu, "csv.txt"), "t,ax,ay,az,gx,gy,gz\n" + ImuLine.Format(reading, checksum: false) + "\n# comment\n");
        File.WriteAllText(Path.Combine(imu, "serial.txt"), ImuLine.Format(reading, checksum: true) + "\n" + ImuLine.Format(reading with { TimeS = 1.01 }, checksum: true) + "\n");

        var mcap = Folder(root, "mcap");
        using (var stream = File.Create(Path.Combine(mcap, "two-messages.mcap")))
        using (var writer = new McapWriter(stream, "edgebind"))
        {
            var schema = writer.AddSchema("edgebind.Sample", "raw", "x"u8);
            var channel = writer.AddChannel(schema, "/imu0", "raw", new Dictionary<string, string> { ["modality"] = "imu" });
            writer.WriteMessage(channel, 1, 1000, 1000, "abcdefgh"u8);
            writer.WriteMessage(channel, 2, 2000, 2000, "ijklmnop"u8);
            writer.Finish();
        }

        var outbox = Folder(root, "outbox");
        var dir = Path.Combine(Path.GetTempPath(), "edgebind-seed-outbox-" + Environment.ProcessId);
        using (var o = new DurableOutbox(new OutboxOptions { Directory = dir, Fsync = false }))
        {
            o.AppendMany([Encoding.UTF8.GetBytes("{\"id\":\"a\"}"), Encoding.UTF8.GetBytes("{\"id\":\"b\"}"), []]);
        }
        File.Copy(Directory.GetFiles(dir, "*.seg").Single(), Path.Combine(outbox, "three-records.seg"), overwrite: true);
        Directory.Delete(dir, recursive: true);

        var yaml = Folder(root, "yaml");
        File.WriteAllText(Path.Combine(yaml, "synthetic.yaml"), """
            name: seed
            sources:
              - { type: synthetic.camera, id: cam0, required: true, options: { width: 64, height: 48, fps: 5 } }
              - { type: synthetic.audio, id: mic0 }
              - { type: synthetic.imu, id: imu0 }
            windows:
              vision: { every_ms: 200 }
              audio: { length_s: 2, hop_s: 1 }
              imu: { rate_hz: 1000, hop_s: 0.5 }
            shutdown: { drain_timeout_s: 2 }
            """);
        File.WriteAllText(Path.Combine(yaml, "anchors.yaml"), "name: &n a\nsources: []\ndescription: *n\n");
    }

    private static string Folder(string root, string target)
    {
        var dir = Path.Combine(root, target);
        Directory.CreateDirectory(dir);
        return dir;
    }

    private static byte[] Wav(ushort format, int rate, short bits, short channels, int frames)
    {
        var blockAlign = (short)(channels * bits / 8);
        var data = new byte[frames * blockAlign];
        new Random(rate + bits).NextBytes(data);
        using var ms = new MemoryStream();
        using var w = new BinaryWriter(ms);
        var fmtSize = format == 0xFFFE ? 40 : 16;
        w.Write("RIFF"u8);
        w.Write(4 + 8 + fmtSize + 8 + data.Length);
        w.Write("WAVE"u8);
        w.Write("fmt "u8);
        w.Write(fmtSize);
        w.Write(format);
        w.Write(channels);
        w.Write(rate);
        w.Write(rate * blockAlign);
        w.Write(blockAlign);
        w.Write(bits);
        if (format == 0xFFFE)
        {
            w.Write((short)22);
            w.Write(bits);
            w.Write(3);
            // KSDATAFORMAT_SUBTYPE_PCM
            w.Write(new byte[] { 1, 0, 0, 0, 0, 0, 0x10, 0, 0x80, 0, 0, 0xAA, 0, 0x38, 0x9B, 0x71 });
        }
        w.Write("data"u8);
        w.Write(data.Length);
        w.Write(data);
        w.Flush();
        return ms.ToArray();
    }

    private static byte[] NpyV2(string header, int dataBytes)
    {
        var head = Encoding.Latin1.GetBytes(header + "\n");
        var bytes = new byte[12 + head.Length + dataBytes];
        new byte[] { 0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 2, 0 }.CopyTo(bytes, 0);
        BitConverter.GetBytes((uint)head.Length).CopyTo(bytes, 8);
        head.CopyTo(bytes, 12);
        return bytes;
    }
}
