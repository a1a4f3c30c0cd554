using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using Engine.LoadGen.Output;
using Engine.Transport;
using Spectre.Console;

namespace Engine.LoadGen.Verbs;

/// <summary>
/// A sender and a receiver on loopback, each a full Engine socket transport, blasting datagrams (udp) or frames (tcp) of
/// one size for a fixed time. Measures what the receiver got: messages/s, MB/s, and bytes allocated per message.
/// </summary>
internal sealed class TransportScenario
{
    private readonly string _mode;
    private readonly int _size;
    private readonly double _seconds;
    private readonly Receiver _receiver = new();
    private long _sent;
    private long _backpressure;
    private volatile bool _stop;

    public TransportScenario(string mode, int size, double seconds)
    {
        _mode = mode;
        _size = size;
        _seconds = seconds;
    }

    public List<(double X, double Y)> Throughput { get; } = [];

    public async Task<RunReport> RunAsync(IAnsiConsole console, CancellationToken cancellationToken)
    {
        var options = new TransportOptions { ListenEndpoint = PeerEndpoint.Loopback(0) };
        if (_mode == "udp")
        {
            options.MaxDatagramPayload = Math.Max(options.MaxDatagramPayload, _size);
        }

        await using var receiver = SocketTransport.Create(options);
        await using var sender = SocketTransport.Create(new TransportOptions { ListenEndpoint = PeerEndpoint.Loopback(0), MaxDatagramPayload = options.MaxDatagramPayload });
        await receiver.StartAsync(_receiver, cancellationToken);
        await sender.StartAsync(NullHandler.Instance, cancellationToken);

        var payload = new byte[_size];
        new Random(42).NextBytes(payload);
        var destination = receiver.LocalEndpoint;
        var sendThread = new Thread(() => SendLoop(sender, destination, payload)) { IsBackground = true, Name = "loadgen-sender" };

        string phase = "warming up";
        long windowStartCount = 0, windowStartBytes = 0, allocStart = 0;
        TimeSpan cpuStart = default;
        var clock = Stopwatch.StartNew();
        double measureStart = 0;
        sendThread.Start();

        async Task Measure()
        {
            try
            {
                await MeasureWindow();
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                // Bounded run: stop and report what was measured so far.
                phase = "stopped (timeout)";
                measureStart = measureStart == 0 ? clock.Elapsed.TotalSeconds : measureStart;
            }
        }

        async Task MeasureWindow()
        {
            await Task.Delay(1000, cancellationToken);
            phase = "measuring";
            windowStartCount = _receiver.Messages;
            windowStartBytes = _receiver.Bytes;
            allocStart = GC.GetTotalAllocatedBytes(precise: true);
            cpuStart = Process.GetCurrentProcess().TotalProcessorTime;
            measureStart = clock.Elapsed.TotalSeconds;
            long last = windowStartCount;
            double lastT = measureStart;
            while (clock.Elapsed.TotalSeconds - measureStart < _seconds && !cancellationToken.IsCancellationRequested)
            {
                await Task.Delay(100, cancellationToken).ConfigureAwait(false);
                double t = clock.Elapsed.TotalSeconds;
                long now = _receiver.Messages;
                Throughput.Add((t - measureStart, (now - last) / (t - lastT)));
                last = now;
                lastT = t;
            }
        }

        ProgressSnapshot Snapshot() => new($"transport {_mode} {_size} B: {phase}",
        [
            ("sent", _sent.ToString("N0", CultureInfo.InvariantCulture)),
            ("received", _receiver.Messages.ToString("N0", CultureInfo.InvariantCulture)),
            ("messages/s", Throughput.Count > 0 ? Throughput[^1].Y.ToString("N0", CultureInfo.InvariantCulture) : "-"),
        ]);

        try
        {
            await ProgressDisplay.RunAsync(console, Snapshot, Measure);
        }
        finally
        {
            _stop = true;
            sendThread.Join();
        }

        double elapsed = clock.Elapsed.TotalSeconds - measureStart;
        long messages = _receiver.Messages - windowStartCount;
        long bytes = _receiver.Bytes - windowStartBytes;
        long allocated = GC.GetTotalAllocatedBytes(precise: true) - allocStart;
        double cpu = (Process.GetCurrentProcess().TotalProcessorTime - cpuStart).TotalSeconds;

        return new RunReport($"transport --mode {_mode} --size {_size}")
            .Add("mode", "mode", _mode)
            .Add("size", "payload size", _size, " B")
            .Add("seconds", "measured for", Math.Round(elapsed, 2), "N2", " s")
            .Add("messages_per_s", "messages/s received", messages / elapsed, "N0")
            .Add("mbytes_per_s", "MB/s received (payload)", bytes / elapsed / 1e6, "N1")
            .Add("alloc_bytes_per_msg", "allocated bytes/message", messages > 0 ? (double)allocated / messages : double.NaN, "N3")
            .Add("cpu_s", "CPU time (both ends)", cpu, "N2", " s")
            .Note("sent / received (whole run)", $"{_sent:N0} / {_receiver.Messages:N0}")
            .Note("send backpressure events", _backpressure.ToString("N0", CultureInfo.InvariantCulture));
    }

    private void SendLoop(SocketTransport sender, PeerEndpoint destination, byte[] payload)
    {
        bool udp = _mode == "udp";
        var spin = default(SpinWait);
        while (!_stop)
        {
            var status = udp ? sender.SendDatagram(destination, payload) : sender.SendFrame(destination, payload);
            if (status == SendStatus.Sent)
            {
                _sent++;
                spin.Reset();
            }
            else if (status is SendStatus.QueueFull or SendStatus.Unreachable)
            {
                // The connection's bounded queue is full (or still connecting): back off instead of buffering without bound.
                _backpressure++;
                spin.SpinOnce();
            }
            else
            {
                throw new InvalidOperationException($"send failed: {status}");
            }
        }
    }

    private sealed class Receiver : ITransportHandler
    {
        private long _messages;
        private long _bytes;

        public long Messages => Volatile.Read(ref _messages);

        public long Bytes => Volatile.Read(ref _bytes);

        public void OnDatagram(PeerEndpoint source, ReadOnlySpan<byte> payload)
        {
            Interlocked.Increment(ref _messages);
            Interlocked.Add(ref _bytes, payload.Length);
        }

        public void OnFrame(PeerEndpoint source, in ReadOnlySequence<byte> payload)
        {
            Interlocked.Increment(ref _messages);
            Interlocked.Add(ref _bytes, payload.Length);
        }

        public void OnConnectionLost(PeerEndpoint peer, string reason)
        {
        }
    }
}

/// <summary>A handler that ignores everything (for pure senders).</summary>
internal sealed class NullHandler : ITransportHandler
{
    public static readonly NullHandler Instance = new();

    public void OnDatagram(PeerEndpoint source, ReadOnlySpan<byte> payload)
    {
    }

    public void OnFrame(PeerEndpoint source, in ReadOnlySequence<byte> payload)
    {
    }

    public void OnConnectionLost(PeerEndpoint peer, string reason)
    {
    }
}
