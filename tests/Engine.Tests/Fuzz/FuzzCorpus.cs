using System.Buffers;
using System.Collections;
using Engine.Protocol;
using Engine.Transport;
using Engine.Transport.Compression;
using Engine.Transport.Tcp;
using Google.Protobuf;
using Google.Protobuf.Reflection;

namespace Engine.Tests.Fuzz;

/// <summary>Valid encodings of every wire structure, built from a seed: what the mutator starts from.</summary>
internal static class FuzzCorpus
{
    /// <summary>Every message type of protos/gossip.proto.</summary>
    public static IList<MessageDescriptor> MessageTypes => GossipReflection.Descriptor.MessageTypes;

    /// <summary>Random, fully populated instances of <paramref name="type"/> (every field set, oneofs varied, nested to depth 3).</summary>
    public static byte[][] Messages(MessageDescriptor type, int count, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, count).Select(_ => Populate(type, random, 0).ToByteArray()).ToArray();
    }

    /// <summary>Envelopes of every GossipMessage content, signed-size signatures, some with a secret envelope; and alive envelopes from AliveCodec.</summary>
    public static byte[][] Envelopes(int seed)
    {
        var random = new Random(seed);
        var list = new List<byte[]>();
        var gossip = GossipMessage.Descriptor;
        foreach (var field in gossip.Oneofs[0].Fields)
        {
            for (int i = 0; i < 3; i++)
            {
                var message = (GossipMessage)Populate(gossip, random, 0, forcedOneof: field);
                var envelope = new Envelope { Payload = message.ToByteString(), Signature = ByteString.CopyFrom(Bytes(random, 70 + random.Next(3))) };
                if (random.Next(3) == 0)
                {
                    envelope.SecretEnvelope = new SecretEnvelope { Payload = ByteString.CopyFrom(Bytes(random, 20)), Signature = ByteString.CopyFrom(Bytes(random, 71)) };
                }

                list.Add(envelope.ToByteArray());
            }
        }

        for (int i = 0; i < 20; i++)
        {
            list.Add(AliveEnvelope(random, withIdentity: i % 2 == 0));
        }

        return [.. list];
    }

    public static byte[] AliveEnvelope(Random random, bool withIdentity)
    {
        var fields = new AliveFields
        {
            PkiId = Bytes(random, 32),
            Endpoint = System.Text.Encoding.UTF8.GetBytes($"10.0.{random.Next(256)}.{random.Next(256)}:{random.Next(1, 65536)}"),
            Metadata = Bytes(random, random.Next(24)),
            IncNum = (ulong)random.NextInt64(),
            SeqNum = (ulong)random.Next(),
            Identity = withIdentity ? Bytes(random, 300) : default,
        };
        byte[] signature = Bytes(random, 72);
        var buffer = new byte[AliveCodec.EnvelopeSize(fields, signature.Length)];
        AliveCodec.Write(buffer, fields, signature);
        return buffer;
    }

    /// <summary>The content bytes of alive messages (what AliveCodec.TryParse reads).</summary>
    public static byte[][] AliveContents(int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, 40).Select(i =>
        {
            return EnvelopeView.TryParse(AliveEnvelope(random, i % 3 == 0), out var view) ? view.Content.ToArray() : throw new InvalidOperationException("bad corpus");
        }).ToArray();
    }

    /// <summary>Datagrams: header and a batch of one to four envelope records.</summary>
    public static byte[][] Datagrams(int seed)
    {
        var random = new Random(seed);
        var envelopes = Envelopes(seed).Where(e => e.Length < 600).ToArray();
        var list = new List<byte[]>();
        for (int i = 0; i < 60; i++)
        {
            var body = new byte[1400];
            int written = 0;
            for (int r = 1 + random.Next(4); r > 0; r--)
            {
                EnvelopeBatch.TryAppend(body, ref written, envelopes[random.Next(envelopes.Length)]);
            }

            var datagram = new byte[DatagramHeader.Size + written];
            DatagramHeader.Write(datagram, DatagramType.Envelopes);
            body.AsSpan(0, written).CopyTo(datagram.AsSpan(DatagramHeader.Size));
            list.Add(datagram);
        }

        return [.. list];
    }

    /// <summary>Streams of one to three frames: handshakes, messages (raw and LZ4), keepalives.</summary>
    public static byte[][] FrameStreams(int seed)
    {
        var random = new Random(seed);
        var envelopes = Envelopes(seed);
        var list = new List<byte[]>();
        for (int i = 0; i < 80; i++)
        {
            var writer = new ArrayBufferWriter<byte>();
            for (int f = 1 + random.Next(3); f > 0; f--)
            {
                switch (random.Next(4))
                {
                    case 0:
                        FrameWriter.Write(writer, FrameType.Handshake, Handshake.Create(PeerEndpoint.Loopback((ushort)random.Next(1, 65536))), 0, out _);
                        break;
                    case 1:
                        FrameWriter.Write(writer, FrameType.Keepalive, [], 0, out _);
                        break;
                    case 2:
                        // Compressible bodies, so the LZ4 path is taken.
                        byte[] body = Compressible(random, 64 + random.Next(1500));
                        FrameWriter.Write(writer, FrameType.Message, body, 16, out _);
                        break;
                    default:
                        FrameWriter.Write(writer, FrameType.Message, envelopes[random.Next(envelopes.Length)], 0, out _);
                        break;
                }
            }

            list.Add(writer.WrittenSpan.ToArray());
        }

        return [.. list];
    }

    /// <summary>LZ4 blocks of compressible data.</summary>
    public static byte[][] Lz4Blocks(int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, 50).Select(_ =>
        {
            byte[] data = Compressible(random, 16 + random.Next(2000));
            var block = new byte[Lz4Codec.MaxCompressedLength(data.Length)];
            int n = Lz4Codec.Compress(data, block);
            return block[..n];
        }).ToArray();
    }

    public static byte[] Compressible(Random random, int length)
    {
        var data = new byte[length];
        for (int i = 0; i < length; i++)
        {
            data[i] = random.Next(4) == 0 ? (byte)random.Next(256) : (byte)"gossip-engine "[i % 14];
        }

        return data;
    }

    public static byte[] Bytes(Random random, int length)
    {
        var bytes = new byte[length];
        random.NextBytes(bytes);
        return bytes;
    }

    private static IMessage Populate(MessageDescriptor type, Random random, int depth, FieldDescriptor? forcedOneof = null)
    {
        var message = type.Parser.ParseFrom(ByteString.Empty);
        foreach (var field in type.Fields.InFieldNumberOrder())
        {
            if (field.RealContainingOneof is { } oneof)
            {
                var chosen = forcedOneof is not null && forcedOneof.ContainingType == type ? forcedOneof : oneof.Fields[random.Next(oneof.Fields.Count)];
                if (chosen != field)
                {
                    continue;
                }
            }

            if (field.IsRepeated)
            {
                var list = (IList)field.Accessor.GetValue(message);
                for (int i = 1 + random.Next(2); i > 0; i--)
                {
                    if (Value(field, random, depth) is { } value)
                    {
                        list.Add(value);
                    }
                }
            }
            else if (Value(field, random, depth) is { } value)
            {
                field.Accessor.SetValue(message, value);
            }
        }

        return message;
    }

    private static object? Value(FieldDescriptor field, Random random, int depth) => field.FieldType switch
    {
        FieldType.Message => depth >= 3 ? null : Populate(field.MessageType, random, depth + 1),
        FieldType.Bytes => ByteString.CopyFrom(Bytes(random, random.Next(1, 40))),
        FieldType.String => $"peer{random.Next(1000)}.org{random.Next(10)}:{random.Next(65536)}",
        FieldType.Bool => true,
        FieldType.Enum => Enum.ToObject(field.EnumType.ClrType, field.EnumType.Values[random.Next(field.EnumType.Values.Count)].Number),
        FieldType.UInt64 or FieldType.Fixed64 => (ulong)random.NextInt64(),
        FieldType.Int64 or FieldType.SInt64 or FieldType.SFixed64 => random.NextInt64(long.MinValue, long.MaxValue),
        FieldType.UInt32 or FieldType.Fixed32 => (uint)random.Next(),
        FieldType.Int32 or FieldType.SInt32 or FieldType.SFixed32 => random.Next(int.MinValue, int.MaxValue),
        FieldType.Double => random.NextDouble(),
        FieldType.Float => (float)random.NextDouble(),
        _ => null,
    };
}
