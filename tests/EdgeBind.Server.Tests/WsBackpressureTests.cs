using System.Net.WebSockets;
using EdgeBind.Server.Live;
using EdgeBind.Server.Security;
using Microsoft.Extensions.Logging.Abstractions;

namespace EdgeBind.Server.Tests;

/// <summary>
/// A WebSocket client that never reads, over the runtime's own WebSocket implementation on a stream
/// whose writes never complete (what a full TCP window looks like to the sender): its queue stays within
/// the byte budget, every message it loses is counted, and it is cut off after the send timeout.
/// </summary>
public sealed class WsBackpressureTests
{
    private sealed class StuckStream : Stream
    {
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            await Task.Delay(Timeout.Infinite, cancellationToken);
            return 0;
        }

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) =>
            await Task.Delay(Timeout.Infinite, cancellationToken);

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();
    }

    [Fact]
    public async Task A_client_that_never_reads_is_bounded_counted_and_cut_off()
    {
        var options = new ServerOptions { WsQueue = 1000, WsQueueBytes = 64 * 1024, WsSendTimeoutS = 0.3 };
        var hub = new LiveHub(options, new TokenCheck(null), NullLogger.Instance, () => []);
        var client = new LiveClient(1, options, hub);
        using var socket = WebSocket.CreateFromStream(new StuckStream(), isServer: true, subProtocol: null, keepAliveInterval: Timeout.InfiniteTimeSpan);
        var sending = client.SendLoopAsync(socket, CancellationToken.None);

        var message = new OutMessage(WebSocketMessageType.Binary, new byte[10_000]);
        client.Enqueue(message);
        // The send loop takes the first message and is stuck in its send from then on.
        var taken = System.Diagnostics.Stopwatch.StartNew();
        while (client.QueuedBytes != 0)
        {
            Assert.True(taken.Elapsed < TimeSpan.FromSeconds(10), "the send loop never took the first message");
            await Task.Delay(10);
        }
        for (var i = 1; i < 100; i++)
        {
            client.Enqueue(message);
            Assert.True(client.QueuedBytes <= options.WsQueueBytes, $"{client.QueuedBytes} bytes queued after {i + 1} messages");
        }
        // One message is in the stuck send; of the other 99, what fits in 64 KiB stays and the rest are dropped.
        Assert.Equal(99 - options.WsQueueBytes / 10_000, hub.MessagesDropped);

        var finished = await Task.WhenAny(sending, Task.Delay(TimeSpan.FromSeconds(10)));
        Assert.Same(sending, finished);
        Assert.Equal(1, hub.ClientsEvicted);
        Assert.Equal(WebSocketState.Aborted, socket.State);
        Assert.Equal(0, client.QueuedBytes);
        Assert.Equal(0, hub.MessagesSent);
    }
}
