/* Signal helpers shared by the media unit tests: tone generation, a
 * zero-crossing frequency estimate and a single-bin DFT (Goertzel) purity
 * measure. Header-only so each test binary stays one source file. */
#ifndef JN_TEST_MEDIA_SIGNAL_H
#define JN_TEST_MEDIA_SIGNAL_H

#include <math.h>
#include <stdint.h>

/* Writes n samples of a sine of freq Hz; *phase carries on between calls. */
static inline void sig_tone(int16_t *out, unsigned n, unsigned rate, double freq, double amp,
			    double *phase)
{
	for (unsigned i = 0; i < n; i++) {
		out[i] = (int16_t)lrint(amp * sin(*phase));
		*phase += 2 * M_PI * freq / rate;
		if (*phase > 2 * M_PI)
			*phase -= 2 * M_PI;
	}
}

/* Frequency from upward zero crossings, interpolated between samples. */
static inline double sig_zc_freq(const int16_t *x, unsigned n, unsigned rate)
{
	double first = -1, last = -1;
	unsigned count = 0;
	for (unsigned i = 1; i < n; i++) {
		if (x[i - 1] < 0 && x[i] >= 0) {
			double t = (i - 1) + (double)-x[i - 1] / (double)(x[i] - x[i - 1]);
			if (first < 0)
				first = t;
			last = t;
			count++;
		}
	}
	if (count < 2)
		return 0;
	return (count - 1) * (double)rate / (last - first);
}

/* Fraction of the signal's power that sits at freq (0..1), by a Hann
 * windowed single-bin DFT compared against the windowed total power. */
static inline double sig_purity(const int16_t *x, unsigned n, unsigned rate, double freq)
{
	double re = 0, im = 0, total = 0;
	for (unsigned i = 0; i < n; i++) {
		double w = 0.5 - 0.5 * cos(2 * M_PI * i / (n - 1));
		double v = x[i] * w;
		re += v * cos(2 * M_PI * freq * i / rate);
		im -= v * sin(2 * M_PI * freq * i / rate);
		total += v * v;
	}
	if (total <= 0)
		return 0;
	/* A pure windowed sine puts |X|^2 = N/(sum w^2) * ... : normalise by
	 * the window's energy so a clean tone scores close to 1. */
	double wsum2 = 0, wsum = 0;
	for (unsigned i = 0; i < n; i++) {
		double w = 0.5 - 0.5 * cos(2 * M_PI * i / (n - 1));
		wsum2 += w * w;
		wsum += w;
	}
	double p = (re * re + im * im) * 2 * wsum2 / (wsum * wsum);
	return p / total;
}

/* Root mean square of n samples. */
static inline double sig_rms(const int16_t *x, unsigned n)
{
	double s = 0;
	for (unsigned i = 0; i < n; i++)
		s += (double)x[i] * x[i];
	return n ? sqrt(s / n) : 0;
}

#endif
