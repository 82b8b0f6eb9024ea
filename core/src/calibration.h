/* calibration.h - the calibrated models of the analysis (core/src/calibration.c). Each is a
 * logistic regression p = 1 / (1 + exp(-(b0 + sum_i w_i x_i))) on npsw_analysis_features,
 * fitted by bench/analogue_calibrate.py on held-out data (docs/analogues.md, "Calibration"). */
#ifndef NPSW_CALIBRATION_H
#define NPSW_CALIBRATION_H

#include "npsw/analyse.h"

/* P(the query's substance is in the library) */
double npsw_cal_p_in_library(const npsw_analysis_features *f);
/* P(a relative is in the library | the substance is not) */
double npsw_cal_p_analogue(const npsw_analysis_features *f);
/* P(the predicted class is right) */
double npsw_cal_p_class(const npsw_analysis_features *f);

#endif
