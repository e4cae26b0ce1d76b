using EdgeBind.Core;

namespace EdgeBind.Inference.Tests;

/// <summary>ONNX Runtime through EdgeBind's buffers against PyTorch's outputs for the same inputs.</summary>
public sealed class ParityTests : IDisposable
{
    private const float Tolerance = 1e-5f;
    private readonly ModelPackage _package = ModelPackage.Open(Fixtures.TinyTest);

    public void Dispose() => _package.Dispose();

    [Theory]
    [InlineData(Modality.Vision)]
    [InlineData(Modality.Audio)]
    [InlineData(Modality.Depth)]
    [InlineData(Modality.Thermal)]
    [InlineData(Modality.Imu)]
    public void Float_encoders_match_pytorch_at_batch_3_and_1(Modality modality)
    {
        var (input, shape) = Fixtures.ParityInput(modality);
        var expected = Fixtures.ExpectedNormalized(modality);
        var encoder = _package.Encoders[modality];
        var n = shape[0];
        using var batch = encoder.CreateBatch(n);
        input.CopyTo(batch.FloatInputs(n));
        batch.Run(n);
        for (var i = 0; i < n; i++)
        {
            AssertClose(expected[i], batch.Embedding(i).ToArray());
        }
        // One at a time through the same buffers: each item's result must not depend on its batch.
        for (var i = 0; i < n; i++)
        {
            input.AsSpan(i * encoder.ItemLength, encoder.ItemLength).CopyTo(batch.FloatInput(0));
            batch.Run(1);
            AssertClose(expected[i], batch.Embedding(0).ToArray());
        }
    }

    [Fact]
    public void Text_encoder_matches_pytorch()
    {
        var ids = Fixtures.ParityTokens();
        var expected = Fixtures.ExpectedNormalized(Modality.Text);
        using var service = new EmbeddingService(_package);
        for (var i = 0; i < expected.Length; i++)
        {
            AssertClose(expected[i], service.EmbedTokens(ids.AsSpan(i * 77, 77)));
        }
    }

    [Fact]
    public void Outputs_are_unit_length_even_when_the_model_does_not_normalise()
    {
        Assert.False(_package.Manifest.Modalities[Modality.Imu].Normalized);
        var (input, shape) = Fixtures.ParityInput(Modality.Imu);
        using var batch = _package.Encoders[Modality.Imu].CreateBatch(shape[0]);
        input.CopyTo(batch.FloatInputs(shape[0]));
        batch.Run(shape[0]);
        for (var i = 0; i < shape[0]; i++)
        {
            var e = batch.Embedding(i);
            var norm = Math.Sqrt(e.ToArray().Sum(x => (double)x * x));
            Assert.Equal(1.0, norm, 5);
        }
    }

    [Fact]
    public void Audio_file_mode_averages_three_clips_then_renormalises()
    {
        // The three parity inputs play the three clips of one file.
        var (input, _) = Fixtures.ParityInput(Modality.Audio);
        var clips = Fixtures.ExpectedNormalized(Modality.Audio);
        var mean = Enumerable.Range(0, 16).Select(d => clips.Sum(c => c[d]) / 3f).ToArray();
        using var service = new EmbeddingService(_package, new CopyPreprocessors());
        AssertClose(Fixtures.Normalize(mean), service.EmbedTensor(Modality.Audio, input));

        var file = Path.Combine(Path.GetTempPath(), $"edgebind-clips-{Guid.NewGuid():N}.npy");
        try
        {
            EdgeBind.Core.IO.NpyFile.Write(file, input, 3, 1, 128, 204);
            AssertClose(Fixtures.Normalize(mean), service.EmbedFile(Modality.Audio, file));
        }
        finally
        {
            File.Delete(file);
        }
        // Averaging must differ from any one clip, or this test could not fail.
        Assert.True(Math.Abs(Dot(Fixtures.Normalize(mean), clips[0]) - 1) > 1e-3);
    }

    [Fact]
    public void Wrong_tensor_length_is_a_clear_error()
    {
        using var service = new EmbeddingService(_package);
        var ex = Assert.Throws<InvalidDataException>(() => service.EmbedTensor(Modality.Imu, new float[100]));
        Assert.Contains("imu: expected a whole number of items of [N,6,2000] (12000 values each), found 100 values", ex.Message);
    }

    [Fact]
    public void Audio_files_embed_through_the_real_preprocessing_with_three_clips()
    {
        // The audio engineer's fixture: a WAV and torchaudio's [3,1,128,204] tensor for it.
        var dir = Path.Combine(Fixtures.TinyTest, "..", "..", "audio");
        var reference = EdgeBind.Core.IO.NpyFile.Read(Path.Combine(dir, "chirp_44k_f32_mono.audio.npy"));
        Assert.Equal([3, 1, 128, 204], reference.Shape);
        using var service = new EmbeddingService(_package);
        var fromFile = service.EmbedFile(Modality.Audio, Path.Combine(dir, "chirp_44k_f32_mono.wav"));
        var fromReference = service.EmbedTensor(Modality.Audio, reference.ToFloat32());
        Assert.True(Dot(fromFile, fromReference) > 0.999, $"cosine {Dot(fromFile, fromReference)}");
        Assert.Equal(1.0, Math.Sqrt(fromFile.Sum(x => (double)x * x)), 5);
    }

    [Theory]
    [InlineData("dog")]
    [InlineData("car")]
    public void Image_files_embed_through_the_real_preprocessing(string name)
    {
        // ImageBind's sample images (read from ../shared, never copied) and torchvision's tensors for them.
        var shared = Fixtures.Shared;
        var reference = EdgeBind.Core.IO.NpyFile.Read(Path.Combine(shared, "reference", $"{name}_image.vision.npy"));
        using var service = new EmbeddingService(_package);
        var fromFile = service.EmbedFile(Modality.Vision, Path.Combine(shared, "imagebind", "assets", $"{name}_image.jpg"));
        var fromReference = service.EmbedTensor(Modality.Vision, reference.ToFloat32());
        Assert.True(Dot(fromFile, fromReference) > 0.999, $"cosine {Dot(fromFile, fromReference)}");
        var bad = Path.Combine(Path.GetTempPath(), $"edgebind-{Guid.NewGuid():N}.jpg");
        File.WriteAllText(bad, "not a jpeg");
        try
        {
            var ex = Assert.Throws<InvalidDataException>(() => service.EmbedFile(Modality.Vision, bad));
            Assert.Contains(bad, ex.Message);
        }
        finally
        {
            File.Delete(bad);
        }
    }

    [Fact]
    public void Text_goes_through_the_package_tokenizer()
    {
        using var service = new EmbeddingService(_package);
        var tokenizer = EdgeBind.Preprocessing.Text.ClipTokenizer.Load(Path.Combine(Fixtures.TinyTest, "bpe_test.txt.gz"), 60, 77);
        var ids = tokenizer.Encode("A dog barking in the park");
        Assert.True(ids.Count(i => i != 0) > 3);
        var viaText = service.EmbedText("A dog barking in the park");
        Assert.Equal(service.EmbedTokens(ids), viaText);
        Assert.Equal(1.0, Math.Sqrt(viaText.Sum(x => (double)x * x)), 5);
        Assert.NotEqual(viaText, service.EmbedText("a car horn on the street"));
    }

    private static double Dot(float[] a, float[] b) => a.Zip(b).Sum(p => (double)p.First * p.Second);

    private static void AssertClose(float[] expected, float[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++)
        {
            Assert.True(Math.Abs(expected[i] - actual[i]) <= Tolerance, $"element {i}: expected {expected[i]}, found {actual[i]}");
        }
    }
}
