// The device side of the webhook tutorial.
//
// The device publishes a WebhookDemo01 event with a small JSON reading when it connects to the
// cloud, every five minutes after that, and whenever you click the MODE button. A product webhook
// turns each event into an HTTP request to your server; your server's answer comes back as
// <this device's id>/hook-response/WebhookDemo01 events, which this firmware subscribes to and logs.
// Watch it all with `particle serial monitor` (USB serial, 115200 baud).

#include "Particle.h"

// Run the application loop alongside the cloud connection, so setup() starts right away.
SYSTEM_THREAD(ENABLED);

// Log messages go to the USB serial port.
SerialLogHandler logHandler(LOG_LEVEL_INFO);

// Product firmware must say its version; bump it each time you upload a new build to the product.
// The cloud variable WebhookDemo01 holds it too, so `particle get <device> WebhookDemo01` tells you
// which build a device runs without a serial cable.
const int FIRMWARE_VERSION = 1;
PRODUCT_VERSION(FIRMWARE_VERSION);

// The webhook matches event names by prefix. "WebhookDemo01" (not "WebhookDemo") keeps this
// webhook from also firing for a future "WebhookDemo02".
const char *const EVENT_NAME = "WebhookDemo01";

// How often to publish on our own. Each publish is one data operation, and the response event the
// device receives is another, so keep this as long as your application allows.
const system_tick_t PUBLISH_INTERVAL_MS = 5 * 60 * 1000;

// When we last published, in millis() time (a 32-bit count of milliseconds since boot). Starting
// one interval in the past makes the first publish happen as soon as the cloud connection is up.
system_tick_t lastPublishMs = 0 - PUBLISH_INTERVAL_MS;

// A counter sent with every event, so you can match an event to the request your server received.
int sequence = 0;

// Simulated temperature in degrees Celsius; a real product would read a sensor here.
int temperature = 0;

// Set by the MODE button handler, cleared by loop(). The handler runs in the system thread, so it
// only sets this flag: publishing from there could block the system.
volatile bool buttonClicked = false;

void buttonHandler(system_event_t event, int clicks);
void hookResponseHandler(const char *event, const char *data);
void publishReading();

void setup() {
    // Subscribe to the responses to our own events only. Without the device id prefix, every device
    // in the product would receive (and pay a data operation for) every other device's responses.
    // Subscriptions are prefix matches too, so long responses split into parts /0, /1, /2 all arrive.
    String topic = System.deviceID() + "/hook-response/" + EVENT_NAME;
    Particle.subscribe(topic.c_str(), hookResponseHandler);

    // The cloud reads the variable from FIRMWARE_VERSION whenever it is asked, so it must be a
    // global that outlives setup(), not a local copy.
    Particle.variable("WebhookDemo01", FIRMWARE_VERSION);

    System.on(button_click, buttonHandler);

    temperature = rand() % 40;
}

void loop() {
    if (!Particle.connected()) {
        return;
    }
    // Unsigned subtraction stays correct when millis() wraps around after about 49 days.
    if (millis() - lastPublishMs >= PUBLISH_INTERVAL_MS) {
        lastPublishMs = millis();
        publishReading();
    }
    if (buttonClicked) {
        buttonClicked = false;
        publishReading();
    }
}

void buttonHandler(system_event_t /* event */, int /* clicks */) {
    buttonClicked = true;
}

void hookResponseHandler(const char *event, const char *data) {
    // Only log here: publishing from a subscription handler is how event loops start.
    Log.info("hook response %s: %s", event, data ? data : "");
}

void publishReading() {
    // Drift the simulated temperature a little each time.
    temperature += (rand() % 6) - 3;

    // Event data may be up to 1024 bytes; this reading needs far less.
    char buf[256];
    memset(buf, 0, sizeof(buf));
    JSONBufferWriter writer(buf, sizeof(buf) - 1);
    writer.beginObject();
    writer.name("id").value(sequence++);
    writer.name("t").value(temperature);
#if HAL_PLATFORM_POWER_MANAGEMENT
    // Devices with a fuel gauge (Boron, B-SoM, Tracker, M-SoM...) also report their battery.
    writer.name("powerSource").value(System.powerSource());
    writer.name("soc").value(System.batteryCharge());
#endif
    writer.endObject();

    bool sent = Particle.publish(EVENT_NAME, buf);
    Log.info("published %s %s: %s", EVENT_NAME, buf, sent ? "ok" : "failed");
}
