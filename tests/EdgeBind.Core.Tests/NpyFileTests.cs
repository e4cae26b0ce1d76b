using System.Text;
using EdgeBind.Core.IO;

namespace EdgeBind.Core.Tests;

public sealed class NpyFileTests
{
    private static byte[] Npy(string header, int dataBytes = 0, byte major = 1)
    {
        var head = Encoding.Latin1.GetBytes(header);
        var preamble = major == 1 ? 10 : 12;
        var bytes = new byte[preamble + head.Length + dataBytes];
        new byte[] { 0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', major, 0 }.CopyTo(bytes, 0);
        if (major == 1)
        {
            BitConverter.GetBytes((ushort)head.Length).CopyTo(bytes, 8);
        }
        else
        {
            BitConverter.GetBytes((uint)head.Length).CopyTo(bytes, 8);
        }
        head.CopyTo(bytes, preamble);
        return bytes;
    }

    [Theory]
    [InlineData("{'descr': '<f4', 'fortran_order': False, 'shape': (-49,), }", "'-49'")]
    [InlineData("{'descr': '<f4', 'fortran_order': False, 'shape': (abc,), }", "'abc'")]
    [InlineData("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999,), }", "'99999999999'")]
    [InlineData("{'descr': '<f4', 'fortran_order': False, 'shape': (65536, 65536, 65536), }", "truncated data")]
    [InlineData("{'descr': '<f4', 'fortran_order': False, 'shape': 7, }", "not terminated")]
    [InlineData("{'descr': '<f4', 'fortran_order': False, 'shape' (3,), }", "no 'shape' entry")]
    [InlineData("{'descr': '<c16', 'fortran_order': False, 'shape': (3,), }", "unsupported dtype '<c16'")]
    [InlineData("{'descr'", "no 'descr' entry")]
    public void MalformedHeaders_AreNamedErrors_WithTheFileName(string header, string expected)
    {
        var ex = Assert.Throws<InvalidDataException>(() => NpyFile.Parse(Npy(header, 16), "bad.npy"));
        Assert.StartsWith("bad.npy: ", ex.Message, StringComparison.Ordinal);
        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AHeaderLongerThanTheFile_IsATruncatedHeader_EvenInVersion2()
    {
        var bytes = Npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", 4, major: 2);
        BitConverter.GetBytes(0xFFFFFFF0u).CopyTo(bytes, 8);
        var ex = Assert.Throws<InvalidDataException>(() => NpyFile.Parse(bytes, "big.npy"));
        Assert.Contains("big.npy: truncated .npy header", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ScalarsAndOneElementTuples_Parse()
    {
        Assert.Empty(NpyFile.Parse(Npy("{'descr': '<f4', 'fortran_order': False, 'shape': (), }", 4), "s.npy").Shape);
        Assert.Equal([3], NpyFile.Parse(Npy("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", 12), "v.npy").Shape);
        Assert.Equal([2, 0], NpyFile.Parse(Npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 0), }"), "e.npy").Shape);
    }
}
