using System.Buffers;
using Engine.Transport;
using Engine.Transport.Memory;

namespace Engine.Tests.Transport.Memory;

public sealed class MemoryNetworkRealTimeTests
{
    [Test]
    [CancelAfter(10_000)]
    public async Task OnTheSystemClock_DatagramsAndOrderedFramesArrive(CancellationToken cancellationToken)
    {
        var network = new MemoryNetwork(new NetworkPolicy { Seed = 2, Delay = TimeSpan.FromMilliseconds(1), Jitter = TimeSpan.FromMilliseconds(3) }, TimeProvider.System);
        var a = network.CreateTransport();
        var b = network.CreateTransport();
        var receiver = new WaitingHandler(expectedFrames: 200);
        await a.StartAsync(receiver, cancellationToken);
        await b.StartAsync(receiver, cancellationToken);

        a.SendDatagram(b.LocalEndpoint, [42]);
        for (int i = 0; i < 200; i++)
        {
            a.SendFrame(b.LocalEndpoint, BitConverter.GetBytes(i));
        }

        await receiver.Done.Task.WaitAsync(cancellationToken);
        Assert.That(receiver.Frames, Is.EqualTo(Enumerable.Range(0, 200)));
        Assert.That(await receiver.Datagram.Task.WaitAsync(cancellationToken), Is.EqualTo(42));
    }

    private sealed class WaitingHandler(int expectedFrames) : ITransportHandler
    {
        private readonly Lock _gate = new();

        public List<int> Frames { get; } = [];

        public TaskCompletionSource<byte> Datagram { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void OnDatagram(PeerEndpoint source, ReadOnlySpan<byte> payload) => Datagram.TrySetResult(payload[0]);

        public void OnFrame(PeerEndpoint source, in ReadOnlySequence<byte> payload)
        {
            var bytes = payload.ToArray();
            lock (_gate)
            {
                Frames.Add(BitConverter.ToInt32(bytes));
                if (Frames.Count == expectedFrames)
                {
                    Done.TrySetResult();
                }
            }
        }

        public void OnConnectionLost(PeerEndpoint peer, string reason) => Done.TrySetException(new InvalidOperationException(reason));
    }
}
