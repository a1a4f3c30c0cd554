using System.Net;
using System.Net.Sockets;
using System.Text;
using Engine.Peer.Admin;
using Engine.Peer.Hosting;
using Engine.Transport;
using Microsoft.Extensions.Logging.Abstractions;

namespace Engine.Tests.Peer;

[Category("Sockets")]
public sealed class AdminPortTests
{
    private static PeerStatus SampleStatus(long requests) => new(
        "peer0", "Org1", "127.0.0.1:7051", "ab12", true, 12.5,
        [
            new MemberStatus("cd34", "127.0.0.1:7052", "Org1", "alive", 1000, 7),
            new MemberStatus("ef56", "127.0.0.1:7053", "Org2", "dead", 900, 3),
        ],
        [new CounterStatus("aliveSent", 42), new CounterStatus("requests", requests)]);

    private static async Task<AdminServer> StartAsync(Func<PeerStatus>? status = null)
    {
        long calls = 0;
        var server = new AdminServer(PeerEndpoint.Loopback(0), status ?? (() => SampleStatus(Interlocked.Increment(ref calls))),
            NullLogger.Instance, TimeProvider.System);
        server.Start();
        await Task.CompletedTask;
        return server;
    }

    private static async Task<string> RawExchangeAsync(PeerEndpoint endpoint, byte[] request, CancellationToken cancellationToken)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(endpoint.ToIPEndPoint(), cancellationToken);
        var stream = client.GetStream();
        await stream.WriteAsync(request, cancellationToken);
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return await reader.ReadLineAsync(cancellationToken) ?? "";
    }

    [Test]
    [CancelAfter(10_000)]
    public async Task Status_RoundTripsOverLoopback(CancellationToken cancellationToken)
    {
        await using var server = await StartAsync();
        Assert.That(server.LocalEndpoint.Port, Is.Not.Zero);

        var status = await AdminClient.GetStatusAsync(server.LocalEndpoint, cancellationToken);
        var again = await AdminClient.GetStatusAsync(server.LocalEndpoint, cancellationToken);

        var expected = SampleStatus(1);
        Assert.Multiple(() =>
        {
            Assert.That(status.PeerId, Is.EqualTo(expected.PeerId));
            Assert.That(status.Endpoint, Is.EqualTo(expected.Endpoint));
            Assert.That(status.UptimeSeconds, Is.EqualTo(12.5));
            Assert.That(status.Members, Is.EqualTo(expected.Members));
            Assert.That(status.Counters, Is.EqualTo(expected.Counters));
            Assert.That(again.Counters[1].Value, Is.EqualTo(2), "each request asks the peer afresh");
            Assert.That(server.Requests, Is.EqualTo(2));
        });
    }

    [Test]
    [CancelAfter(10_000)]
    public async Task SeveralRequestsOnOneConnection_AreAnsweredInTurn(CancellationToken cancellationToken)
    {
        await using var server = await StartAsync();
        using var client = new TcpClient();
        await client.ConnectAsync(server.LocalEndpoint.ToIPEndPoint(), cancellationToken);
        var stream = client.GetStream();
        await stream.WriteAsync("{\"command\":\"status\"}\r\n{\"command\":\"status\"}\n"u8.ToArray(), cancellationToken);
        using var reader = new StreamReader(stream, Encoding.UTF8);
        string? first = await reader.ReadLineAsync(cancellationToken);
        string? second = await reader.ReadLineAsync(cancellationToken);
        Assert.That(first, Does.StartWith("{\"ok\":true,\"status\":{\"peerId\":\"peer0\""));
        Assert.That(second, Does.StartWith("{\"ok\":true"));
    }

    [TestCase("{\"command\":\"reboot\"}\n", "unknown command 'reboot'; commands: status")]
    [TestCase("{}\n", "no \"command\" field")]
    [TestCase("status please\n", "not a JSON object")]
    [CancelAfter(10_000)]
    public async Task BadRequest_IsAnsweredWithAnError_AndTheServerKeepsServing(string request, string expected, CancellationToken cancellationToken)
    {
        await using var server = await StartAsync();
        string response = await RawExchangeAsync(server.LocalEndpoint, Encoding.UTF8.GetBytes(request), cancellationToken);
        var parsed = System.Text.Json.JsonSerializer.Deserialize(response, AdminProtocol.Json.AdminResponse)!;
        Assert.That(parsed.Ok, Is.False);
        Assert.That(parsed.Error, Does.Contain(expected));
        Assert.That((await AdminClient.GetStatusAsync(server.LocalEndpoint, cancellationToken)).PeerId, Is.EqualTo("peer0"));
        Assert.That(server.Requests, Is.EqualTo(1), "only the good request counts");
    }

    [Test]
    [CancelAfter(10_000)]
    public async Task OversizedRequest_IsRefusedAndTheConnectionClosed(CancellationToken cancellationToken)
    {
        await using var server = await StartAsync();
        using var client = new TcpClient();
        await client.ConnectAsync(server.LocalEndpoint.ToIPEndPoint(), cancellationToken);
        var stream = client.GetStream();
        await stream.WriteAsync(new byte[AdminProtocol.MaxRequestBytes + 100].Select(_ => (byte)'x').ToArray(), cancellationToken);
        using var reader = new StreamReader(stream, Encoding.UTF8);
        Assert.That(await reader.ReadLineAsync(cancellationToken), Does.Contain($"request longer than {AdminProtocol.MaxRequestBytes} bytes"));
        Assert.That(await reader.ReadLineAsync(cancellationToken), Is.Null, "the server closed the connection");
    }

    [Test]
    [CancelAfter(10_000)]
    public async Task ErrorResponse_BecomesAnAdminExceptionThatSaysWhy(CancellationToken cancellationToken)
    {
        await using var server = await StartAsync();
        var e = Assert.ThrowsAsync<AdminException>(() =>
            AdminClient.SendAsync(server.LocalEndpoint, new AdminRequest("reboot"), cancellationToken));
        Assert.That(e!.Message, Does.Contain("refused the request: unknown command 'reboot'"));
    }

    [Test]
    [CancelAfter(10_000)]
    public async Task NothingListening_IsAClearError(CancellationToken cancellationToken)
    {
        var free = new TcpListener(IPAddress.Loopback, 0);
        free.Start();
        var endpoint = PeerEndpoint.FromIPEndPoint((IPEndPoint)free.LocalEndpoint);
        free.Stop();

        var e = Assert.ThrowsAsync<AdminException>(() => AdminClient.GetStatusAsync(endpoint, cancellationToken));
        Assert.That(e!.Message, Does.Contain($"cannot reach the admin port at {endpoint}"));
        await Task.CompletedTask;
    }

    [Test]
    [CancelAfter(10_000)]
    public async Task Dispose_ClosesOpenConnectionsAndStopsListening(CancellationToken cancellationToken)
    {
        var server = await StartAsync();
        var endpoint = server.LocalEndpoint;
        using var idle = new TcpClient();
        await idle.ConnectAsync(endpoint.ToIPEndPoint(), cancellationToken);

        await server.DisposeAsync();

        int read = await idle.GetStream().ReadAsync(new byte[16], cancellationToken);
        Assert.That(read, Is.Zero, "the idle admin connection was closed");
        Assert.ThrowsAsync<AdminException>(() => AdminClient.GetStatusAsync(endpoint, cancellationToken));
    }

    [TestCase("10.1.2.3")]
    [TestCase("0.0.0.0")]
    public void NonLoopbackBind_IsRefusedBeforeAnySocketIsOpened(string address)
    {
        var e = Assert.Throws<ArgumentException>(() =>
            _ = new AdminServer(PeerEndpoint.FromAddress(IPAddress.Parse(address), 0), () => SampleStatus(0), NullLogger.Instance, TimeProvider.System));
        Assert.That(e!.Message, Does.Contain("only a loopback address"));
    }

    [Test]
    public void StatusPrinter_ShowsTheViewAndCounters()
    {
        var text = new StringWriter();
        StatusPrinter.Print(SampleStatus(3), text);
        string output = text.ToString();
        Assert.That(output, Does.Contain("Peer peer0 of org Org1 at 127.0.0.1:7051, running, up 12.5s"));
        Assert.That(output, Does.Contain("Membership view: 1 alive, 1 dead"));
        Assert.That(output, Does.Match(@"alive\s+127\.0\.0\.1:7052\s+Org1\s+cd34\s+1000\s+7"));
        Assert.That(output, Does.Match(@"dead\s+127\.0\.0\.1:7053\s+Org2\s+ef56"));
        Assert.That(output, Does.Match(@"aliveSent\s+42"));
    }

    [Test]
    public void StatusPrinter_ShowsEachChannelsLeadersViewAndHeights()
    {
        var text = new StringWriter();
        var channel = new ChannelStatus("mychannel", "joined", 4, false, ["127.0.0.1:7052"],
            [new ChannelMemberStatus("127.0.0.1:7052", "Org1", "cd34", 5), new ChannelMemberStatus("127.0.0.1:9051", "Org2", "9a9a", 3)],
            "127.0.0.1:7050", [new CounterStatus("delivered", 0), new CounterStatus("pullRepaired", 2)]);
        var joining = new ChannelStatus("other", "joining: waiting for the genesis block from the orderer 127.0.0.1:7050", 0, false, [], [], "127.0.0.1:7050", []);
        StatusPrinter.Print(SampleStatus(3) with { Channels = [channel, joining] }, text);
        string output = text.ToString();
        Assert.That(output, Does.Contain("mychannel (orderer 127.0.0.1:7050): ledger height 4, this peer follows; leader(s) of Org1: 127.0.0.1:7052"));
        Assert.That(output, Does.Contain("channel view: 2 other peer(s) with state in mychannel"));
        Assert.That(output, Does.Match(@"127\.0\.0\.1:7051\s+Org1\s+ab12\s+4\s+this peer"));
        Assert.That(output, Does.Match(@"127\.0\.0\.1:7052\s+Org1\s+cd34\s+5\s+leader"));
        Assert.That(output, Does.Match(@"127\.0\.0\.1:9051\s+Org2\s+9a9a\s+3\n"));
        Assert.That(output, Does.Contain("blocks: delivered 0, pullRepaired 2"));
        Assert.That(output, Does.Contain("other (orderer 127.0.0.1:7050): joining: waiting for the genesis block"));

        var none = new StringWriter();
        StatusPrinter.Print(SampleStatus(3), none);
        Assert.That(none.ToString(), Does.Contain("Channels: none joined"));
    }

    [Test]
    public void StatusPrinter_ShowsAnOrderersChannelsAndStreams()
    {
        var text = new StringWriter();
        StatusPrinter.Print(new Engine.Peer.Ordering.OrdererStatus("orderer0", "127.0.0.1:7050", true, 3,
            [new("mychannel", 7, 0, [new("Org1", ["127.0.0.1:7051"]), new("Org2", [])], [new("127.0.0.1:7051", "Org1")])],
            [new CounterStatus("blocksCut", 7)]), text);
        string output = text.ToString();
        Assert.That(output, Does.Contain("Orderer orderer0 at 127.0.0.1:7050, running"));
        Assert.That(output, Does.Contain("mychannel: height 7, cutting on demand only, 1 delivery stream(s) open"));
        Assert.That(output, Does.Match(@"Org1\s+127\.0\.0\.1:7051\s+127\.0\.0\.1:7051"));
        Assert.That(output, Does.Match(@"Org2\s+\(none\)\s+\(none\)"));
        Assert.That(output, Does.Match(@"blocksCut\s+7"));
    }
}
