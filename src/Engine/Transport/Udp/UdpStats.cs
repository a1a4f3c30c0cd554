namespace Engine.Transport.Udp;

/// <summary>A snapshot of one <see cref="UdpEndpoint"/>'s counters.</summary>
/// <param name="Received">Valid datagrams delivered to the handler.</param>
/// <param name="ReceivedBytes">Bytes of those datagrams, headers included.</param>
/// <param name="Dropped">Datagrams received and dropped as invalid (truncated, bad magic/version/type, too large).</param>
/// <param name="Sent">Datagrams handed to the socket.</param>
/// <param name="SentBytes">Bytes of those datagrams, headers included.</param>
/// <param name="SendFailures">Sends the socket refused (buffer full, unreachable, wrong address family).</param>
/// <param name="SendTooLarge">Sends refused because the body exceeded the maximum.</param>
/// <param name="ReceiveErrors">Socket errors the receive loop survived.</param>
/// <param name="HandlerErrors">Exceptions the handler threw (caught; the loop continued).</param>
internal readonly record struct UdpStats(
    long Received,
    long ReceivedBytes,
    long Dropped,
    long Sent,
    long SentBytes,
    long SendFailures,
    long SendTooLarge,
    long ReceiveErrors,
    long HandlerErrors);
