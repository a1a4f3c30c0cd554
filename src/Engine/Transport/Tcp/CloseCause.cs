namespace Engine.Transport.Tcp;

/// <summary>Why a stream connection closed; <see cref="CloseCauses.Tag"/> is its low-cardinality metric tag.</summary>
internal enum CloseCause
{
    /// <summary>The remote end closed the stream.</summary>
    RemoteClosed,

    /// <summary>A socket receive failed (reset, aborted).</summary>
    ReceiveFailed,

    /// <summary>A socket send failed.</summary>
    SendFailed,

    /// <summary>A frame failed validation (header, size, LZ4).</summary>
    MalformedFrame,

    /// <summary>A valid frame broke the protocol: a frame before the handshake, a bad or repeated handshake.</summary>
    ProtocolViolation,

    /// <summary>Nothing was received for <see cref="TransportOptions.IdleTimeout"/>.</summary>
    Idle,

    /// <summary>A frame was started and not finished within <see cref="TransportOptions.FrameReadTimeout"/>.</summary>
    FrameReadTimeout,

    /// <summary>No handshake arrived within <see cref="TransportOptions.FrameReadTimeout"/> of the connection opening.</summary>
    HandshakeTimeout,

    /// <summary>The outbound connect failed or timed out.</summary>
    ConnectFailed,

    /// <summary>A duplicate connection to the same peer drained its queue and stepped aside.</summary>
    Retired,

    /// <summary>The connection manager was disposed.</summary>
    Disposed,

    /// <summary>Closed on request.</summary>
    Closed,

    /// <summary>TLS refused the peer (untrusted, expired or no certificate, a failed TLS handshake) or its PKI-ID is not its certificate's.</summary>
    Unauthenticated,
}

internal static class CloseCauses
{
    public static string Tag(CloseCause cause) => cause switch
    {
        CloseCause.RemoteClosed => "remote_closed",
        CloseCause.Unauthenticated => "unauthenticated",
        CloseCause.ReceiveFailed => "receive_failed",
        CloseCause.SendFailed => "send_failed",
        CloseCause.MalformedFrame => "malformed_frame",
        CloseCause.ProtocolViolation => "protocol_violation",
        CloseCause.Idle => "idle",
        CloseCause.FrameReadTimeout => "frame_read_timeout",
        CloseCause.HandshakeTimeout => "handshake_timeout",
        CloseCause.ConnectFailed => "connect_failed",
        CloseCause.Retired => "retired",
        CloseCause.Disposed => "disposed",
        _ => "closed",
    };

    /// <summary>The reason text used when a close gives no detail.</summary>
    public static string Describe(CloseCause cause) => cause switch
    {
        CloseCause.RemoteClosed => "remote closed",
        CloseCause.ReceiveFailed => "receive failed",
        CloseCause.SendFailed => "send failed",
        CloseCause.MalformedFrame => "malformed frame",
        CloseCause.ProtocolViolation => "protocol violation",
        CloseCause.Idle => "idle",
        CloseCause.FrameReadTimeout => "frame read timeout",
        CloseCause.HandshakeTimeout => "handshake timeout",
        CloseCause.ConnectFailed => "connect failed",
        CloseCause.Retired => "retired",
        CloseCause.Disposed => "transport disposed",
        _ => "closed",
    };
}
