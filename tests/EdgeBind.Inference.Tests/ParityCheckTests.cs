using EdgeBind.Core;
using EdgeBind.Core.IO;

namespace EdgeBind.Inference.Tests;

public class ParityCheckTests
{
    [Fact]
    public void The_test_package_passes_for_every_modality()
    {
        using var package = ModelPackage.Open(Fixtures.TinyTest);
        var results = ParityCheck.Run(package);
        Assert.Equal(6, results.Count);
        Assert.All(results, r =>
        {
            Assert.Equal(3, r.Items);
            Assert.True(r.MinCosine > 0.99999, $"{r.Modality}: {r.MinCosine}");
            Assert.True(r.MaxAbsDiff < 1e-5, $"{r.Modality}: {r.MaxAbsDiff}");
        });
    }

    [Fact]
    public void A_wrong_expected_row_fails_and_missing_files_are_skipped()
    {
        using var copy = new PackageCopy();
        // Row 1 of imu swapped for row 0: that item's cosine drops well below the threshold.
        var path = copy.PathOf(Path.Combine("parity", "imu.expected.npy"));
        var expected = NpyFile.Read(path).ToFloat32();
        expected.AsSpan(0, 16).CopyTo(expected.AsSpan(16, 16));
        NpyFile.Write(path, expected, 3, 16);
        File.Delete(copy.PathOf(Path.Combine("parity", "thermal.input.npy")));
        using var package = ModelPackage.Open(copy.Directory);
        var results = ParityCheck.Run(package).ToDictionary(r => r.Modality);
        Assert.True(results[Modality.Imu].MinCosine < ParityCheck.Threshold);
        Assert.True(results[Modality.Vision].MinCosine >= ParityCheck.Threshold);
        Assert.Equal(0, results[Modality.Thermal].Items);
    }

    [Fact]
    public void Parity_inputs_of_the_wrong_shape_are_named()
    {
        using var copy = new PackageCopy();
        NpyFile.Write(copy.PathOf(Path.Combine("parity", "imu.input.npy")), new float[2 * 6 * 100], 2, 6, 100);
        using var package = ModelPackage.Open(copy.Directory, modalities: [Modality.Imu]);
        var ex = Assert.Throws<InvalidDataException>(() => ParityCheck.Run(package));
        Assert.Contains("imu.input.npy: expected shape [N,6,2000], found (2,6,100)", ex.Message);
    }
}
