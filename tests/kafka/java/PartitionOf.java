// The partitions that Kafka's own Java producer picks for keys, so that tests can compare
// Eddy's partitioner with it. Run by tests/tests/kafka_partitioner.rs through
// `tests::kafka::java_tool`.
//
//   java PartitionOf BOOTSTRAP TOPIC[,TOPIC...] HEX_KEY...
//
// For each topic, sends one record per key (the key's bytes, hex-encoded; "" is the empty
// key) with the default partitioner and acks=all, then prints one line:
//   TOPIC PARTITION_COUNT PARTITION_OF_KEY_1 PARTITION_OF_KEY_2 ...
// where the partitions are those of the brokers' RecordMetadata.

import java.util.ArrayList;
import java.util.List;
import java.util.Properties;

import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.serialization.ByteArraySerializer;

public class PartitionOf {
    public static void main(String[] args) throws Exception {
        if (args.length < 2) {
            System.err.println("usage: PartitionOf BOOTSTRAP TOPIC[,TOPIC...] HEX_KEY...");
            System.exit(2);
        }
        Properties config = new Properties();
        config.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, args[0]);
        config.put(ProducerConfig.ACKS_CONFIG, "all");
        config.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        config.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        List<byte[]> keys = new ArrayList<>();
        for (int i = 2; i < args.length; i++) {
            keys.add(decodeHex(args[i]));
        }
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(config)) {
            for (String topic : args[1].split(",")) {
                StringBuilder line = new StringBuilder(topic);
                line.append(' ').append(producer.partitionsFor(topic).size());
                for (byte[] key : keys) {
                    RecordMetadata metadata =
                        producer.send(new ProducerRecord<>(topic, key, new byte[0])).get();
                    line.append(' ').append(metadata.partition());
                }
                System.out.println(line);
            }
        }
    }

    private static byte[] decodeHex(String hex) {
        if (hex.length() % 2 != 0) {
            throw new IllegalArgumentException("odd-length hex key: " + hex);
        }
        byte[] bytes = new byte[hex.length() / 2];
        for (int i = 0; i < bytes.length; i++) {
            bytes[i] = (byte) Integer.parseInt(hex.substring(2 * i, 2 * i + 2), 16);
        }
        return bytes;
    }
}
