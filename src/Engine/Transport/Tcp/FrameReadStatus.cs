namespace Engine.Transport.Tcp;

/// <summary>The outcome of <see cref="FrameReader.TryReadFrame"/>.</summary>
internal enum FrameReadStatus
{
    /// <summary>More bytes are needed; nothing was consumed.</summary>
    Incomplete = 0,

    /// <summary>A whole frame was read and consumed.</summary>
    Complete,

    /// <summary>The bytes at the start of the buffer are not a valid frame; the connection must close.</summary>
    Malformed,
}
