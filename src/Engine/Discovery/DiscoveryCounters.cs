using Engine.Diagnostics;

namespace Engine.Discovery;

/// <summary>One node's discovery counters (thread-safe), mirrored into the process-wide <see cref="DiscoveryMetrics"/>.</summary>
internal sealed class DiscoveryCounters
{
    private long _aliveSent;
    private long _aliveReceived;
    private long _aliveForwarded;
    private long _aliveStale;
    private long _aliveRejected;
    private long _requestsSent;
    private long _requestsReceived;
    private long _responsesSent;
    private long _responsesReceived;
    private long _datagramsSent;
    private long _datagramSendFailures;
    private long _datagramsReceived;
    private long _bytesSent;
    private long _bytesReceived;
    private long _decodeErrors;
    private long _unhandled;
    private long _frameSendFailures;
    private long _entriesOmitted;
    private long _entriesSent;
    private long _entriesLearned;
    private long _viewsAgreed;
    private long _viewsDiffered;
    private long _filterlessRequests;
    private long _filtersReused;

    public long AliveSent => Volatile.Read(ref _aliveSent);

    public long AliveReceived => Volatile.Read(ref _aliveReceived);

    public long AliveForwarded => Volatile.Read(ref _aliveForwarded);

    public long AliveStale => Volatile.Read(ref _aliveStale);

    public long AliveRejected => Volatile.Read(ref _aliveRejected);

    public long MembershipRequestsSent => Volatile.Read(ref _requestsSent);

    public long MembershipRequestsReceived => Volatile.Read(ref _requestsReceived);

    public long MembershipResponsesSent => Volatile.Read(ref _responsesSent);

    public long MembershipResponsesReceived => Volatile.Read(ref _responsesReceived);

    public long DatagramsSent => Volatile.Read(ref _datagramsSent);

    /// <summary>Membership response entries left out because the asker's known filter says it holds them at that very time.</summary>
    public long EntriesOmitted => Volatile.Read(ref _entriesOmitted);

    /// <summary>Entries sent in membership responses (this peer's own included).</summary>
    public long EntriesSent => Volatile.Read(ref _entriesSent);

    /// <summary>Entries of received membership responses that changed this peer's table (the rest were stale or refused).</summary>
    public long EntriesLearned => Volatile.Read(ref _entriesLearned);

    /// <summary>Membership requests answered with the responder alone: the asker's view digest matched (nothing to teach).</summary>
    public long ViewsAgreed => Volatile.Read(ref _viewsAgreed);

    /// <summary>Filterless membership requests answered with the responder's digest alone: the views differ, and the asker asks again with its filter.</summary>
    public long ViewsDiffered => Volatile.Read(ref _viewsDiffered);

    /// <summary>Sync requests sent without a known filter: a responder had agreed with this view, and it has not changed since.</summary>
    public long FilterlessRequests => Volatile.Read(ref _filterlessRequests);

    /// <summary>Sync requests (probing strategies) that carried the previous known filter instead of a new walk over the view.</summary>
    public long FiltersReused => Volatile.Read(ref _filtersReused);

    public long DatagramSendFailures => Volatile.Read(ref _datagramSendFailures);

    public long FrameSendFailures => Volatile.Read(ref _frameSendFailures);

    public long DatagramsReceived => Volatile.Read(ref _datagramsReceived);

    public long BytesSent => Volatile.Read(ref _bytesSent);

    public long BytesReceived => Volatile.Read(ref _bytesReceived);

    public long DecodeErrors => Volatile.Read(ref _decodeErrors);

    /// <summary>Envelopes of kinds no layer of this node handles yet.</summary>
    public long Unhandled => Volatile.Read(ref _unhandled);

    public void AliveSentTo(int destinations)
    {
        Interlocked.Add(ref _aliveSent, destinations);
        DiscoveryMetrics.AliveSent.Add(destinations);
    }

    public void AliveForwardedTo(int destinations)
    {
        Interlocked.Add(ref _aliveForwarded, destinations);
        DiscoveryMetrics.AliveForwarded.Add(destinations);
    }

    public void AliveArrived()
    {
        Interlocked.Increment(ref _aliveReceived);
        DiscoveryMetrics.AliveReceived.Add(1);
    }

    public void Stale()
    {
        Interlocked.Increment(ref _aliveStale);
        DiscoveryMetrics.AliveStale.Add(1);
    }

    public void Rejected()
    {
        Interlocked.Increment(ref _aliveRejected);
        DiscoveryMetrics.AliveRejected.Add(1);
    }

    public void RequestSent()
    {
        Interlocked.Increment(ref _requestsSent);
        DiscoveryMetrics.RequestsSent.Add(1);
    }

    public void RequestReceived()
    {
        Interlocked.Increment(ref _requestsReceived);
        DiscoveryMetrics.RequestsReceived.Add(1);
    }

    public void ResponseSent()
    {
        Interlocked.Increment(ref _responsesSent);
        DiscoveryMetrics.ResponsesSent.Add(1);
    }

    public void ResponseReceived()
    {
        Interlocked.Increment(ref _responsesReceived);
        DiscoveryMetrics.ResponsesReceived.Add(1);
    }

    public void ViewAgreed()
    {
        Interlocked.Increment(ref _viewsAgreed);
        DiscoveryMetrics.ViewsAgreed.Add(1);
    }

    public void ViewDiffered()
    {
        Interlocked.Increment(ref _viewsDiffered);
        DiscoveryMetrics.ViewsDiffered.Add(1);
    }

    public void FilterlessRequest() => Interlocked.Increment(ref _filterlessRequests);

    public void FilterReused() => Interlocked.Increment(ref _filtersReused);

    public void Omitted(int entries)
    {
        if (entries > 0)
        {
            Interlocked.Add(ref _entriesOmitted, entries);
            DiscoveryMetrics.EntriesOmitted.Add(entries);
        }
    }

    public void EntriesSentInResponse(int entries)
    {
        if (entries > 0)
        {
            Interlocked.Add(ref _entriesSent, entries);
            DiscoveryMetrics.EntriesSent.Add(entries);
        }
    }

    public void EntriesLearnedFromResponse(int entries)
    {
        if (entries > 0)
        {
            Interlocked.Add(ref _entriesLearned, entries);
            DiscoveryMetrics.EntriesLearned.Add(entries);
        }
    }

    public void DatagramSent(int bytes)
    {
        Interlocked.Increment(ref _datagramsSent);
        Interlocked.Add(ref _bytesSent, bytes);
        DiscoveryMetrics.DatagramsSent.Add(1);
    }

    public void DatagramSendFailed()
    {
        Interlocked.Increment(ref _datagramSendFailures);
        DiscoveryMetrics.SendFailures.Add(1, TransportMetrics.Reason("datagram"));
    }

    public void FrameSent(int bytes) => Interlocked.Add(ref _bytesSent, bytes);

    public void FrameSendFailed()
    {
        Interlocked.Increment(ref _frameSendFailures);
        DiscoveryMetrics.SendFailures.Add(1, TransportMetrics.Reason("frame"));
    }

    public void DatagramReceived(int bytes)
    {
        Interlocked.Increment(ref _datagramsReceived);
        Interlocked.Add(ref _bytesReceived, bytes);
    }

    public void FrameReceived(long bytes) => Interlocked.Add(ref _bytesReceived, bytes);

    public void DecodeError(string kind)
    {
        Interlocked.Increment(ref _decodeErrors);
        DiscoveryMetrics.DecodeErrors.Add(1, TransportMetrics.Reason(kind));
    }

    public void UnhandledEnvelope()
    {
        Interlocked.Increment(ref _unhandled);
        DiscoveryMetrics.Unhandled.Add(1);
    }
}
