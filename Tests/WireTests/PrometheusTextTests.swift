// The Prometheus text format: escaping, numbers, cumulative histogram buckets, one family per name.
import Testing
import Wire

struct PrometheusTextTests {
    @Test func familyHasHelpTypeAndEscapedLabelValues() {
        var out = PrometheusText()
        out.add("camd_build_info", .gauge, help: "Build \\ info\nsecond line \"quoted\"",
                [([("version", "1.0 \"beta\" C:\\path\nnext")], 1)])
        #expect(out.text == """
            # HELP camd_build_info Build \\\\ info\\nsecond line "quoted"
            # TYPE camd_build_info gauge
            camd_build_info{version="1.0 \\"beta\\" C:\\\\path\\nnext"} 1

            """)
    }

    @Test func numbersAreWhatGoParses() {
        #expect(PrometheusText.number(0) == "0")
        #expect(PrometheusText.number(1_234_567_890_123) == "1234567890123", "no grouping separators, no exponent")
        #expect(PrometheusText.number(-3) == "-3")
        #expect(PrometheusText.number(0.0025) == "0.0025")
        #expect(PrometheusText.number(9.97) == "9.97")
        #expect(PrometheusText.number(1e-5) == "1e-05")
        #expect(PrometheusText.number(1e300) == "1e+300")
        #expect(PrometheusText.number(.infinity) == "+Inf" && PrometheusText.number(-.infinity) == "-Inf")
        #expect(PrometheusText.number(.nan) == "NaN")
    }

    @Test func histogramBucketsAreCumulativeEndingInInfWithSumAndCount() {
        var out = PrometheusText()
        // 1 at ≤1 ms, 0 in (1, 5] ms, 3 in (5, 25] ms, and 2 over the last bound: count 6.
        out.add("camd_encode_seconds", help: "Encode time.", labels: [("source", "test")],
                PrometheusText.Histogram(upperBounds: [0.001, 0.005, 0.025], counts: [1, 0, 3], sum: 1.5, count: 6))
        #expect(out.text == """
            # HELP camd_encode_seconds Encode time.
            # TYPE camd_encode_seconds histogram
            camd_encode_seconds_bucket{source="test",le="0.001"} 1
            camd_encode_seconds_bucket{source="test",le="0.005"} 1
            camd_encode_seconds_bucket{source="test",le="0.025"} 4
            camd_encode_seconds_bucket{source="test",le="+Inf"} 6
            camd_encode_seconds_sum{source="test"} 1.5
            camd_encode_seconds_count{source="test"} 6

            """)
    }

    @Test func aNameIsOneFamilyOnly() {
        var out = PrometheusText()
        out.add("camd_viewers", .gauge, help: "Viewers.", [([("protocol", "native")], 1), ([("protocol", "http")], 2)])
        out.add("camd_viewers", .counter, help: "Again.", 5)
        out.add("camd_frames_sent_total", .counter, help: "Sent.", 7)
        #expect(out.families == ["camd_viewers", "camd_frames_sent_total"])
        #expect(out.text.components(separatedBy: "# TYPE camd_viewers ").count == 2)
        #expect(!out.text.contains("Again.") && !out.text.contains("camd_viewers 5"))
        #expect(out.text.hasSuffix("camd_frames_sent_total 7\n"))
    }

    @Test func emptyFamilyIsHelpAndTypeOnly() {
        var out = PrometheusText()
        out.add("camd_frame_age_seconds", .gauge, help: "Age.", [])
        #expect(out.text == "# HELP camd_frame_age_seconds Age.\n# TYPE camd_frame_age_seconds gauge\n")
    }

    @Test func namesFollowTheFormat() {
        for good in ["camd_viewers", "process_cpu_seconds_total", "a:b", "_x9"] { #expect(PrometheusText.isValidName(good), "\(good)") }
        for bad in ["", "9camd", "camd-viewers", "camd viewers", "camd_é"] { #expect(!PrometheusText.isValidName(bad), "\(bad)") }
    }
}
