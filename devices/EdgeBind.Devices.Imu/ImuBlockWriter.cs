using EdgeBind.Core;
using EdgeBind.Core.Buffers;

namespace EdgeBind.Devices.Imu;

/// <summary>
/// Gathers readings into pooled 6-channel <see cref="SampleBlock"/>s with per-frame timestamps
/// (ax, ay, az in m/s^2, gx, gy, gz in rad/s), handing out a block when it holds <c>blockFrames</c> readings.
/// </summary>
public sealed class ImuBlockWriter
{
    private readonly LeasePool<SampleBlock> _pool = new(() => new SampleBlock(), 64);
    private readonly int _blockFrames;
    private readonly double _rateHz;
    private SampleBlock? _current;
    private int _count;
    private long _lastNs = long.MinValue;

    /// <summary>Creates the writer.</summary>
    /// <param name="blockFrames">Readings per block.</param>
    /// <param name="rateHz">Nominal rate, Hz (recorded in each block).</param>
    public ImuBlockWriter(int blockFrames, double rateHz)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(blockFrames);
        _blockFrames = blockFrames;
        _rateHz = rateHz;
    }

    /// <summary>Blocks rented and not returned.</summary>
    public long Outstanding => _pool.Outstanding;

    /// <summary>Readings in the block being filled.</summary>
    public int Pending => _count;

    /// <summary>
    /// Adds a reading captured at <paramref name="captureNs"/> (monotonic). Returns false (and keeps nothing) when the
    /// time does not increase. When the block is full, <paramref name="full"/> receives it.
    /// </summary>
    public bool Add(in ImuReading r, long captureNs, out SampleBlock? full)
    {
        full = null;
        if (captureNs <= _lastNs)
        {
            return false;
        }
        _lastNs = captureNs;
        if (_current is null)
        {
            _current = _pool.Rent();
            _current.Configure(6, _blockFrames, _rateHz, withTimestamps: true);
            _count = 0;
        }
        var data = _current.Data;
        var o = _count * 6;
        data[o] = r.Ax;
        data[o + 1] = r.Ay;
        data[o + 2] = r.Az;
        data[o + 3] = r.Gx;
        data[o + 4] = r.Gy;
        data[o + 5] = r.Gz;
        _current.TimestampsNs[_count] = captureNs;
        if (_count == 0)
        {
            _current.CaptureNs = captureNs;
        }
        _count++;
        if (_count == _blockFrames)
        {
            full = _current;
            _current = null;
            _count = 0;
        }
        return true;
    }

    /// <summary>Hands out the partly filled block (shrunk to its readings), or null when empty.</summary>
    public SampleBlock? Flush()
    {
        if (_current is null || _count == 0)
        {
            return null;
        }
        var block = _current;
        var n = _count;
        // Configure keeps the buffers, so shrinking the count keeps the data and timestamps written so far.
        var first = block.CaptureNs;
        block.Configure(6, n, _rateHz, withTimestamps: true);
        block.CaptureNs = first;
        _current = null;
        _count = 0;
        return block;
    }

    /// <summary>Forgets the time order (after a reconnect, device clocks restart).</summary>
    public void ResetClock(long lastNs) => _lastNs = lastNs;

    /// <summary>Capture time of the last accepted reading, monotonic ns.</summary>
    public long LastNs => _lastNs;

    /// <summary>Returns the partly filled block to the pool.</summary>
    public void Discard()
    {
        _current?.Dispose();
        _current = null;
        _count = 0;
    }
}
