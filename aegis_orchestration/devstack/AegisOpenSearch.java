// One OpenSearch node for the local stack, on the HTTP and transport ports given, bound to loopback.
// The runner's own main() only allows HTTP ports up to 9299 and binds every interface; this
// launcher fixes both. Usage: AegisOpenSearch <base dir> <http port> <transport port>
import org.codelibs.opensearch.runner.OpenSearchRunner;

public final class AegisOpenSearch {
    public static void main(String[] args) throws Exception {
        String base = args[0];
        int httpPort = Integer.parseInt(args[1]);
        int transportPort = Integer.parseInt(args[2]);
        OpenSearchRunner runner = new OpenSearchRunner();
        runner.setMaxHttpPort(-1);  // take the port we give, do not scan 9200-9299
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                runner.close();
            } catch (Exception ignored) {
                // the JVM is exiting anyway
            }
        }));
        runner.onBuild((index, settings) -> {
            settings.put("network.host", "127.0.0.1");
            settings.put("http.port", httpPort);
            settings.put("transport.port", transportPort);
            settings.put("discovery.type", "single-node");
            settings.put("cluster.routing.allocation.disk.threshold_enabled", false);
            settings.put("action.destructive_requires_name", false);
        });
        runner.build(new OpenSearchRunner.Configs()
                .basePath(base)
                .numOfNode(1)
                .baseHttpPort(httpPort - 1)
                .clusterName("aegis")
                .printOnFailure());
        runner.ensureYellow();
        System.out.println("aegis: OpenSearch ready on 127.0.0.1:" + httpPort);
        while (!runner.isClosed()) {
            Thread.sleep(1000);
        }
    }
}
