package dev.sessionizer.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.flink.api.common.JobID;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.functions.AggregateFunction;
import org.apache.flink.api.common.functions.MapFunction;
import org.apache.flink.api.common.serialization.SimpleStringSchema;
import org.apache.flink.api.java.tuple.Tuple2;
import org.apache.flink.api.java.tuple.Tuple3;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.connector.jdbc.JdbcConnectionOptions;
import org.apache.flink.connector.jdbc.JdbcExecutionOptions;
import org.apache.flink.connector.jdbc.JdbcSink;
import org.apache.flink.connector.kafka.source.KafkaSource;
import org.apache.flink.connector.kafka.source.enumerator.initializer.OffsetsInitializer;
import org.apache.kafka.common.TopicPartition;
import org.apache.flink.runtime.execution.ExecutionState;
import org.apache.flink.runtime.executiongraph.AccessExecutionGraph;
import org.apache.flink.runtime.executiongraph.AccessExecutionVertex;
import org.apache.flink.runtime.jobgraph.JobGraph;
import org.apache.flink.runtime.jobmaster.JobResult;
import org.apache.flink.runtime.minicluster.MiniCluster;
import org.apache.flink.runtime.minicluster.MiniClusterConfiguration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.windowing.ProcessWindowFunction;
import org.apache.flink.streaming.api.windowing.assigners.EventTimeSessionWindows;
import org.apache.flink.streaming.api.windowing.windows.TimeWindow;
import org.apache.flink.util.Collector;

/**
 * The reference lab's job, as the benchmark's flink tier runs it (docs/BENCHMARKS.md, "The flink
 * tier"): KafkaSource -> keyBy(userId) -> EventTimeSessionWindows.withGap(G) -> count -> JdbcSink
 * upsert into aggregated_counts, in local mode (one JVM, a MiniCluster, parallelism 1).
 *
 * <p>Watermarks are generated per Kafka partition by the source (BoundedOutOfOrderness B, so
 * W = max(t) - B - 1, as docs/DESIGN.md section 3 rule 4) and combined as their minimum, which is
 * how a Kafka source with one reader works. The source is bounded at the given end offsets: when
 * it has read them, Flink's end of input fires every session still open (the final watermark),
 * flushes the sink and the job finishes.
 *
 * <p>Arguments: bootstrap servers, topic, end offsets ("0:333000,1:334000,2:333000"), JDBC URL,
 * gap ms, out-of-orderness ms, JDBC batch size, JDBC batch interval ms. Prints one JSON line
 * "ready" once every task runs, and one "done" line with the first record's wall-clock time.
 */
public final class SessionJob {
  /** When the first record's event time was read (the drain is timed from there). */
  static final AtomicLong FIRST_RECORD_AT = new AtomicLong();

  private static final DateTimeFormatter ISO_MS =
      DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSS'Z'").withZone(ZoneOffset.UTC);

  static final String UPSERT =
      "INSERT INTO aggregated_counts (group_key, count_value, window_end_time) VALUES (?, ?, ?) "
          + "ON CONFLICT (group_key) DO UPDATE "
          + "SET count_value = EXCLUDED.count_value, window_end_time = EXCLUDED.window_end_time";

  private SessionJob() {}

  public static void main(String[] args) throws Exception {
    if (args.length != 8) {
      throw new IllegalArgumentException(
          "usage: SessionJob BOOTSTRAP TOPIC END_OFFSETS JDBC_URL GAP_MS B_MS BATCH_SIZE BATCH_INTERVAL_MS");
    }
    String bootstrap = args[0];
    String topic = args[1];
    Map<TopicPartition, Long> ends = new HashMap<>();
    for (String pair : args[2].split(",")) {
      String[] kv = pair.split(":");
      ends.put(new TopicPartition(topic, Integer.parseInt(kv[0])), Long.parseLong(kv[1]));
    }
    String jdbcUrl = args[3];
    long gapMs = Long.parseLong(args[4]);
    long outOfOrdernessMs = Long.parseLong(args[5]);
    int batchSize = Integer.parseInt(args[6]);
    long batchIntervalMs = Long.parseLong(args[7]);

    StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
    env.setParallelism(1);

    KafkaSource<String> source =
        KafkaSource.<String>builder()
            .setBootstrapServers(bootstrap)
            .setTopics(topic)
            .setGroupId("flink-" + topic)
            .setStartingOffsets(OffsetsInitializer.earliest())
            .setBounded(OffsetsInitializer.offsets(ends))
            .setValueOnlyDeserializer(new SimpleStringSchema())
            .build();

    WatermarkStrategy<String> watermarks =
        WatermarkStrategy.<String>forBoundedOutOfOrderness(Duration.ofMillis(outOfOrdernessMs))
            .withTimestampAssigner(
                (value, kafkaTimestamp) -> {
                  if (FIRST_RECORD_AT.get() == 0) FIRST_RECORD_AT.compareAndSet(0, System.currentTimeMillis());
                  return eventTime(value);
                });

    env.fromSource(source, watermarks, "kafka")
        .map(new Parse())
        .keyBy(e -> e.f0)
        .window(EventTimeSessionWindows.withGap(Duration.ofMillis(gapMs)))
        .aggregate(new Count(), new ToRow())
        .addSink(
            JdbcSink.sink(
                UPSERT,
                SessionJob::bind,
                JdbcExecutionOptions.builder()
                    .withBatchSize(batchSize)
                    .withBatchIntervalMs(batchIntervalMs)
                    .withMaxRetries(3)
                    .build(),
                new JdbcConnectionOptions.JdbcConnectionOptionsBuilder()
                    .withUrl(jdbcUrl)
                    .withDriverName("org.postgresql.Driver")
                    .build()))
        .name("jdbc upsert");

    JobGraph graph = env.getStreamGraph().getJobGraph();
    MiniClusterConfiguration config =
        new MiniClusterConfiguration.Builder()
            .setConfiguration(new Configuration())
            .setNumTaskManagers(1)
            .setNumSlotsPerTaskManager(1)
            .build();
    try (MiniCluster cluster = new MiniCluster(config)) {
      cluster.start();
      JobID id = cluster.submitJob(graph).get().getJobID();
      awaitRunning(cluster, id);
      System.out.println("{\"type\":\"ready\"}");
      JobResult result = cluster.requestJobResult(id).get();
      if (result.getSerializedThrowable().isPresent()) {
        throw new IllegalStateException(
            "the Flink job failed", result.getSerializedThrowable().get().deserializeError(SessionJob.class.getClassLoader()));
      }
      System.out.println(
          "{\"type\":\"done\",\"firstRecordAt\":" + FIRST_RECORD_AT.get() + ",\"finishedAt\":"
              + System.currentTimeMillis() + ",\"peakRssMb\":" + peakRssMb() + "}");
    }
  }

  /**
   * Every task of the job running: the producer may start. (The source then still has to find the
   * topic's partitions; records sent meanwhile wait in Kafka.)
   */
  private static void awaitRunning(MiniCluster cluster, JobID id) throws Exception {
    long deadline = System.currentTimeMillis() + 120_000;
    while (true) {
      AccessExecutionGraph graph = cluster.getExecutionGraph(id).get();
      boolean running = true;
      for (AccessExecutionVertex v : graph.getAllExecutionVertices()) {
        running &= v.getExecutionState() == ExecutionState.RUNNING;
      }
      if (running) return;
      if (graph.getState().isGloballyTerminalState()) throw new IllegalStateException("job ended: " + graph.getState());
      if (System.currentTimeMillis() > deadline) throw new IllegalStateException("tasks not running after 120 s");
      Thread.sleep(20);
    }
  }

  /** This JVM's peak resident set size (VmHWM), in MB; 0 where /proc is not there. */
  private static long peakRssMb() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
        if (line.startsWith("VmHWM:")) return Long.parseLong(line.replaceAll("[^0-9]", "")) / 1024;
      }
    } catch (IOException e) {
      // not Linux: unknown
    }
    return 0;
  }

  /** The event time of "userId,eventTimeMillis" (docs/DESIGN.md section 2; the bench sends no JSON). */
  static long eventTime(String value) {
    int comma = value.indexOf(',');
    return Long.parseLong(value.substring(comma + 1).trim());
  }

  /** (userId, event time). */
  static final class Parse implements MapFunction<String, Tuple2<String, Long>> {
    @Override
    public Tuple2<String, Long> map(String value) {
      int comma = value.indexOf(',');
      return Tuple2.of(value.substring(0, comma).trim(), Long.parseLong(value.substring(comma + 1).trim()));
    }
  }

  /** The session's count, pre-aggregated as events arrive (no event list kept in state). */
  static final class Count implements AggregateFunction<Tuple2<String, Long>, Long, Long> {
    @Override
    public Long createAccumulator() {
      return 0L;
    }

    @Override
    public Long add(Tuple2<String, Long> value, Long acc) {
      return acc + 1;
    }

    @Override
    public Long getResult(Long acc) {
      return acc;
    }

    @Override
    public Long merge(Long a, Long b) {
      return a + b;
    }
  }

  /** (group_key, count, window end): group_key = "<userId>|<start as ISO-8601 UTC with ms>". */
  static final class ToRow extends ProcessWindowFunction<Long, Tuple3<String, Long, Long>, String, TimeWindow> {
    @Override
    public void process(String user, Context context, Iterable<Long> counts, Collector<Tuple3<String, Long, Long>> out) {
      TimeWindow w = context.window();
      out.collect(Tuple3.of(user + "|" + ISO_MS.format(Instant.ofEpochMilli(w.getStart())), counts.iterator().next(), w.getEnd()));
    }
  }

  /** window_end_time is a TIMESTAMP holding UTC, whatever the JVM's time zone. */
  static void bind(PreparedStatement ps, Tuple3<String, Long, Long> row) throws SQLException {
    ps.setString(1, row.f0);
    ps.setLong(2, row.f1);
    ps.setObject(3, LocalDateTime.ofInstant(Instant.ofEpochMilli(row.f2), ZoneOffset.UTC));
  }
}
