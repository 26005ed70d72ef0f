"""Every public function and method of rsmlib has a test that pins its mechanism (issue 18).

``MECHANISMS`` maps each public name (everything in ``rsmlib.__all__``, the public functions
and classes of ``rsmlib.keras``, and the public methods and properties that RSM, RBM, DLGM,
RSMLayer and DLGMModel define themselves) to the tests that pin its mechanism: a property it
must have that a plausible bug breaks (not only "it runs" or "the shape is right"). The tests
below require every public name to have an entry, every entry to name a public name, and
every test named to exist. A new public function therefore fails this module until its
mechanism test is written and entered here.
"""

import ast
import inspect
from functools import lru_cache
from pathlib import Path

import pytest

import rsmlib
import rsmlib.keras
from rsmlib import DLGM, RBM, RSM
from rsmlib.keras import DLGMModel, RSMLayer

TESTS = Path(__file__).resolve().parent
CLASSES = (RSM, RBM, DLGM, RSMLayer, DLGMModel)

MA, MD, MK = "test_mechanisms_ais.py", "test_mechanisms_dlgm.py", "test_mechanisms_keras.py"
MS, MT, MM = "test_mechanisms_sampling.py", "test_mechanisms_training.py", "test_mechanisms_misc.py"
ME, MO, P = "test_mechanisms_evaluation.py", "test_mechanisms_models.py", "test_properties.py"
G, TE = "test_gaussian.py", "test_training_evaluation.py"

MECHANISMS = {
    # --- rsmlib.__all__ -----------------------------------------------------------------
    "ais_log_partition": [
        f"{MA}::test_ais_with_one_intermediate_temperature_is_unbiased",
        f"{MA}::test_ais_weights_are_exact_to_rounding_for_a_one_word_vocabulary",
        f"{MA}::test_ais_log_weights_are_float64",
    ],
    "fit_rsm": [
        f"{MT}::test_momentum_steps_follow_the_heavy_ball_recursion_on_a_quadratic",
        f"{MT}::test_each_step_uses_the_saved_persistent_chains_as_its_negatives",
        f"{MT}::test_persistent_chains_are_carried_over_between_epochs",
        f"{MT}::test_identical_documents_in_different_batches_get_different_negatives",
        f"{MT}::test_a_keras_optimizer_object_takes_the_steps_and_a_second_learning_rate_is_refused",
        f"{MT}::test_fit_rsm_refuses_zero_epochs_and_an_empty_batch_naming_the_argument",
    ],
    "load_20newsgroups": ["test_datasets.py::test_20newsgroups_loader_on_a_local_fixture"],
    "log_counts": [
        "test_datasets.py::test_log_counts",
        f"{TE}::test_log_counts_keeps_the_words_that_occur_and_damps_counts",
    ],
    "perplexity": [
        f"{ME}::test_perplexity_is_normalised_per_word_not_per_document",
        f"{P}::test_perplexity_is_exp_of_minus_the_per_word_mean",
    ],
    "rsm_log_probs": [
        f"{ME}::test_rsm_log_probs_subtract_log_z_of_each_documents_own_length",
        f"{ME}::test_exact_log_probs_of_all_documents_of_a_length_sum_to_one",
    ],
    "split_documents": ["test_datasets.py::test_split_is_seeded_and_a_partition"],
    "top_words": [f"{TE}::test_top_words_reads_the_columns_of_W"],
    "unigram_log_probs": [f"{ME}::test_unigram_log_probs_by_hand"],
    "DLGM": [
        "test_dlgm.py::test_free_energy_is_kl_plus_nll_plus_penalty_with_the_same_noise",
        "test_dlgm.py::test_two_factorisations_agree",
    ],
    "load_binarized_mnist": ["test_dlgm.py::test_binarized_mnist_loader_on_a_local_fixture"],
    "load_mnist_digits": [f"{MM}::test_load_mnist_digits_binarises_with_the_grey_level"],
    "RBM": [
        f"{P}::test_rbm_free_energy_and_log_z_equal_enumeration",
        "test_rbm.py::test_construction_is_deterministic_given_the_seed",
    ],
    "RSM": [
        f"{P}::test_rsm_free_energy_equals_enumeration",
        "test_rsm.py::test_without_hidden_bias_the_model_is_the_one_with_b_h_at_zero",
    ],
    "as_seed": [
        f"{MS}::test_as_seed_puts_an_int_in_the_second_slot_and_keeps_pairs",
        f"{P}::test_as_seed_accepts_ints_and_integer_pairs_only",
    ],
    "bernoulli": [
        f"{MS}::test_bernoulli_is_exact_at_zero_and_one_and_its_mean_is_p",
        f"{MS}::test_bernoulli_never_fires_at_probability_zero_even_when_u_is_exactly_zero",
    ],
    "binary_states": [f"{MA}::test_binary_states_lists_every_state_once_in_binary_order"],
    "check": [f"{TE}::test_check_prints_the_verdict_and_raises_when_false"],
    "check_close": [f"{TE}::test_check_close_uses_the_max_norm_relative_error"],
    "finite_differences": [
        f"{MM}::test_finite_differences_restores_every_variable",
        f"{TE}::test_finite_differences_of_a_quadratic",
    ],
    "gradient_and_hessian": [f"{MM}::test_gradient_and_hessian_of_a_quadratic_form_per_row"],
    "kl_diagonal_to_standard": [f"{G}::test_diagonal_helpers"],
    "kl_rank_one_to_standard": [f"{G}::test_rank_one_helpers_match_dense_linear_algebra"],
    "kl_to_standard": [
        f"{G}::test_rank_one_helpers_match_dense_linear_algebra",
        f"{G}::test_diagonal_helpers",
    ],
    "load_reuters": [f"{MM}::test_load_reuters_is_the_lda_corpus_as_counts"],
    "Corpus": [
        f"{MM}::test_corpus_unpacks_as_counts_vocab_titles_and_is_what_load_reuters_returns"
    ],
    "log_det_diagonal": [f"{G}::test_diagonal_helpers"],
    "log_det_rank_one": [f"{G}::test_rank_one_helpers_match_dense_linear_algebra"],
    "log_multinomial": [
        f"{ME}::test_exact_log_probs_of_all_documents_of_a_length_sum_to_one",
        "test_rsm.py::test_log_partition_matches_brute_force_over_words_and_hidden_states",
    ],
    "multinomial_counts": [
        f"{MS}::test_multinomial_counts_is_exact_for_logits_of_plus_minus_1e4",
        "test_rsm.py::test_multinomial_counts_is_exact_down_to_rare_words",
        "test_rsm.py::test_multinomial_counts_rows_are_independent",
    ],
    "pathwise_gradients": [
        f"{G}::test_estimators_are_unbiased_for_mu_and_R",
        f"{G}::test_R_gradient_convention_is_d_by_dR_ij_per_sample",
    ],
    "price_gradients": [
        f"{G}::test_price_estimator_is_unbiased_for_C",
        f"{G}::test_price_factor_one_half_is_exact_for_a_quadratic",
    ],
    "rank_one_covariance": [f"{G}::test_rank_one_helpers_match_dense_linear_algebra"],
    "rank_one_scale": [
        f"{G}::test_rank_one_helpers_match_dense_linear_algebra",
        "test_dlgm.py::test_rank_one_scale_satisfies_R_R_transpose_equals_C",
    ],
    "rank_one_scale_matvec": [f"{G}::test_rank_one_helpers_match_dense_linear_algebra"],
    "relative_error": [f"{MM}::test_relative_error_is_the_max_norm_ratio"],
    "sample_diagonal": [f"{G}::test_samplers_have_the_right_covariance"],
    "sample_gaussian": [
        f"{G}::test_estimators_are_unbiased_for_mu_and_R",
        f"{G}::test_same_seed_same_samples_and_stateless",
    ],
    "sample_rank_one": [f"{G}::test_samplers_have_the_right_covariance"],
    "score_function_gradients": [
        f"{G}::test_estimators_are_unbiased_for_mu_and_R",
        f"{G}::test_score_equals_autodiff_of_log_density",
    ],
    "split_seed": [f"{MS}::test_split_seed_gives_n_distinct_seeds_that_differ_from_the_parent"],
    # --- rsmlib.keras ---------------------------------------------------------------------
    "keras.shard_layout": [
        "test_keras_scale.py::test_mirrored_fit_equals_the_single_device_fit",
        f"{MK}::test_rows_of_global_batch_give_a_replica_the_rows_one_device_draws",
    ],
    "keras.global_max": [
        "test_keras_scale.py::test_mirrored_fit_equals_the_single_device_fit",
        f"{MK}::test_rows_of_global_batch_give_a_replica_the_rows_one_device_draws",
    ],
    "keras.rows_of_global_batch": [
        f"{MK}::test_rows_of_global_batch_give_a_replica_the_rows_one_device_draws"
    ],
    "keras.gibbs_negatives": [
        f"{MK}::test_layer_gibbs_draws_what_rsm_gibbs_draws_and_call_returns_the_hidden_probs",
        f"{MK}::test_cd_step_is_the_cd_loss_at_the_negatives_from_the_data_or_from_start",
    ],
    "keras.cd_step": [
        f"{MK}::test_cd_step_is_the_cd_loss_at_the_negatives_from_the_data_or_from_start",
        "test_keras.py::test_the_added_loss_has_the_hand_cd_gradient",
    ],
    "keras.RSMLayer": [
        "test_keras.py::test_the_added_loss_has_the_hand_cd_gradient",
        "test_keras.py::test_gradients_reach_a_layer_below_or_are_blocked",
    ],
    "keras.DocumentBatches": [
        "test_keras.py::test_document_batches_order_is_a_function_of_seed_and_epoch"
    ],
    "keras.BackupAndRestore": [
        "test_keras.py::test_a_backup_of_another_run_is_refused",
        "test_keras_scale.py::test_backup_and_restore_in_a_fresh_process_is_exact",
    ],
    "keras.DLGMModel": [
        "test_keras.py::test_dlgm_model_fit_evaluate_and_importance_sampling",
        f"{MK}::test_dlgm_model_call_adds_the_free_energy_per_image_with_its_own_noise",
    ],
    # --- RSM --------------------------------------------------------------------------------
    "RSM.parameters": [
        f"{MO}::test_rsm_energy_and_hidden_input_are_the_formulas_term_by_term",
        "test_rsm.py::test_cd_loss_gradient_is_minus_cd_update_with_D_on_hidden_bias",
    ],
    "RSM.vocab_size": [f"{MO}::test_rsm_energy_and_hidden_input_are_the_formulas_term_by_term"],
    "RSM.num_hidden": [f"{MO}::test_rsm_energy_and_hidden_input_are_the_formulas_term_by_term"],
    "RSM.energy": [
        f"{MO}::test_rsm_energy_and_hidden_input_are_the_formulas_term_by_term",
        f"{P}::test_rsm_free_energy_equals_enumeration",
    ],
    "RSM.hidden_input": [f"{MO}::test_rsm_energy_and_hidden_input_are_the_formulas_term_by_term"],
    "RSM.free_energy": [
        f"{P}::test_rsm_free_energy_equals_enumeration",
        "test_rsm.py::test_free_energy_uses_D_times_hidden_bias",
    ],
    "RSM.hidden_probs": [
        f"{MS}::test_rsm_sample_hidden_and_sample_visible_are_the_conditionals",
        f"{P}::test_the_gauge_shift_changes_no_distribution",
    ],
    "RSM.visible_logits": [
        f"{MS}::test_rsm_sample_hidden_and_sample_visible_are_the_conditionals",
        f"{P}::test_the_gauge_shift_changes_no_distribution",
    ],
    "RSM.sample_hidden": [f"{MS}::test_rsm_sample_hidden_and_sample_visible_are_the_conditionals"],
    "RSM.sample_visible": [
        f"{MS}::test_rsm_sample_hidden_and_sample_visible_are_the_conditionals",
        "test_rsm.py::test_sampled_words_follow_the_softmax",
    ],
    "RSM.gibbs": [
        f"{MS}::test_rsm_gibbs_two_steps_follow_the_squared_transition_matrix",
        f"{MS}::test_rsm_gibbs_draws_every_step_with_its_own_seed",
    ],
    "RSM.cd_loss": [
        "test_rsm.py::test_cd_loss_gradient_is_minus_cd_update_with_D_on_hidden_bias",
        f"{P}::test_repeating_the_batch_leaves_the_cd_loss_and_update_unchanged",
    ],
    "RSM.cd_update": [
        "test_rsm.py::test_exact_log_likelihood_gradient_is_data_minus_model",
        f"{P}::test_repeating_the_batch_leaves_the_cd_loss_and_update_unchanged",
    ],
    "RSM.log_partition_exact": [
        "test_rsm.py::test_log_partition_matches_brute_force_over_words_and_hidden_states",
        "test_rsm.py::test_log_partition_per_document_length_and_chunking",
    ],
    "RSM.log_prob_exact": [f"{ME}::test_exact_log_probs_of_all_documents_of_a_length_sum_to_one"],
    # --- RBM --------------------------------------------------------------------------------
    "RBM.parameters": [
        f"{MO}::test_rbm_energy_and_hidden_input_are_the_formulas_term_by_term",
        "test_rbm.py::test_autodiff_of_cd_loss_is_minus_cd_update_even_for_a_differentiable_negative",
    ],
    "RBM.num_visible": [f"{MO}::test_rbm_energy_and_hidden_input_are_the_formulas_term_by_term"],
    "RBM.num_hidden": [f"{MO}::test_rbm_energy_and_hidden_input_are_the_formulas_term_by_term"],
    "RBM.energy": [
        f"{MO}::test_rbm_energy_and_hidden_input_are_the_formulas_term_by_term",
        "test_rbm.py::test_log_partition_equals_joint_enumeration",
    ],
    "RBM.hidden_input": [f"{MO}::test_rbm_energy_and_hidden_input_are_the_formulas_term_by_term"],
    "RBM.free_energy": [
        f"{P}::test_rbm_free_energy_and_log_z_equal_enumeration",
        "test_rbm.py::test_free_energy_equals_enumeration",
    ],
    "RBM.hidden_probs": ["test_rbm.py::test_conditionals_are_the_sigmoids_of_the_energy"],
    "RBM.visible_probs": [f"{MM}::test_rbm_visible_probs_are_the_conditional_of_the_joint"],
    "RBM.sample_hidden": [
        f"{MO}::test_rbm_sample_hidden_and_sample_visible_fire_at_their_probabilities"
    ],
    "RBM.sample_visible": [
        f"{MO}::test_rbm_sample_hidden_and_sample_visible_fire_at_their_probabilities"
    ],
    "RBM.gibbs": [
        f"{MS}::test_rbm_gibbs_two_steps_follow_the_squared_transition_matrix",
        f"{MS}::test_rbm_gibbs_draws_every_step_with_its_own_seed",
    ],
    "RBM.cd_loss": [
        "test_rbm.py::test_autodiff_of_cd_loss_is_minus_cd_update_even_for_a_differentiable_negative",
        f"{P}::test_repeating_the_batch_leaves_the_cd_loss_and_update_unchanged",
    ],
    "RBM.cd_update": [
        "test_rbm.py::test_cd_update_is_a_mean_over_rows",
        "test_rbm.py::test_exact_gradient_is_data_minus_model",
    ],
    "RBM.hidden_free_energy": [f"{MM}::test_rbm_hidden_free_energy_sums_out_the_visible_units"],
    "RBM.log_partition_exact": [
        "test_rbm.py::test_log_partition_equals_joint_enumeration",
        f"{P}::test_rbm_free_energy_and_log_z_equal_enumeration",
    ],
    "RBM.log_prob_exact": [
        "test_rbm.py::test_log_partition_equals_joint_enumeration",
        "test_rbm.py::test_exact_gradient_is_data_minus_model",
    ],
    # --- DLGM -------------------------------------------------------------------------------
    "DLGM.noise": [f"{MD}::test_noise_is_standard_normal_per_layer_and_is_what_a_seed_means"],
    "DLGM.free_energy": [
        "test_dlgm.py::test_free_energy_is_kl_plus_nll_plus_penalty_with_the_same_noise",
        f"{MD}::test_noise_is_standard_normal_per_layer_and_is_what_a_seed_means",
    ],
    "DLGM.elbo": [
        f"{MD}::test_the_elbos_kl_term_equals_a_monte_carlo_estimate",
        "test_dlgm.py::test_elbo_below_log_p_and_importance_sampling_matches_quadrature",
    ],
    "DLGM.train_step_function": [
        f"{MD}::test_adams_first_train_step_moves_each_parameter_by_the_rate_against_the_gradient"
    ],
    "DLGM.train_step": [
        f"{MD}::test_adams_first_train_step_moves_each_parameter_by_the_rate_against_the_gradient"
    ],
    "DLGM.fit": [
        "test_dlgm.py::test_checkpoint_resume_equals_uninterrupted_training",
        "test_dlgm.py::test_fit_sets_the_visible_bias_from_the_data_when_not_given",
        "test_dlgm.py::test_dynamic_binarisation_and_early_stopping",
    ],
    "DLGM.sample": [f"{MD}::test_sampled_pixel_means_equal_the_models_exact_marginals"],
    "DLGM.impute": [
        f"{MD}::test_impute_keeps_observed_pixels_ignores_masked_values_and_conditions_on_the_rest"
    ],
    "DLGM.log_likelihood_is": [
        "test_dlgm.py::test_elbo_below_log_p_and_importance_sampling_matches_quadrature",
        "test_dlgm.py::test_local_proposal_matches_quadrature_and_refuses_bad_options",
    ],
    # --- RSMLayer ---------------------------------------------------------------------------
    "RSMLayer.build": [
        "test_keras.py::test_the_layer_weights_are_tracked_and_trained_by_fit",
        "test_keras.py::test_without_hidden_bias_there_is_no_b_h",
    ],
    "RSMLayer.rsm": [
        f"{MK}::test_layer_gibbs_draws_what_rsm_gibbs_draws_and_call_returns_the_hidden_probs",
        "test_keras.py::test_the_added_loss_has_the_hand_cd_gradient",
    ],
    "RSMLayer.adapt": ["test_keras.py::test_adapt_sets_the_unigram_log_base_rates"],
    "RSMLayer.gibbs": [
        f"{MK}::test_layer_gibbs_draws_what_rsm_gibbs_draws_and_call_returns_the_hidden_probs"
    ],
    "RSMLayer.call": [
        "test_keras.py::test_the_added_loss_has_the_hand_cd_gradient",
        f"{MK}::test_each_training_call_draws_fresh_negatives_from_the_seed_generator",
        "test_keras.py::test_persistent_chains_are_each_batch_negatives_and_are_saved",
    ],
    "RSMLayer.save_own_variables": [
        "test_keras.py::test_keras_file_round_trip_gives_identical_outputs_and_random_state"
    ],
    "RSMLayer.load_own_variables": [
        "test_keras.py::test_keras_file_round_trip_gives_identical_outputs_and_random_state"
    ],
    "RSMLayer.compute_output_shape": [
        f"{MK}::test_layer_gibbs_draws_what_rsm_gibbs_draws_and_call_returns_the_hidden_probs"
    ],
    "RSMLayer.get_config": [
        "test_keras.py::test_keras_file_round_trip_gives_identical_outputs_and_random_state"
    ],
    # --- DLGMModel --------------------------------------------------------------------------
    "DLGMModel.dlgm": ["test_keras.py::test_dlgm_model_fit_evaluate_and_importance_sampling"],
    "DLGMModel.adapt": [
        f"{MK}::test_dlgm_model_from_its_config_is_the_same_model_and_adapt_sets_the_output_bias"
    ],
    "DLGMModel.noise": [
        f"{MK}::test_dlgm_model_call_adds_the_free_energy_per_image_with_its_own_noise",
        "test_keras_scale.py::test_mirrored_fit_equals_the_single_device_fit",
    ],
    "DLGMModel.call": [
        f"{MK}::test_dlgm_model_call_adds_the_free_energy_per_image_with_its_own_noise",
        "test_keras.py::test_dlgm_model_fit_evaluate_and_importance_sampling",
    ],
    "DLGMModel.log_likelihood_is": [
        f"{MK}::test_dlgm_model_call_adds_the_free_energy_per_image_with_its_own_noise"
    ],
    "DLGMModel.sample": [
        f"{MK}::test_dlgm_model_call_adds_the_free_energy_per_image_with_its_own_noise"
    ],
    "DLGMModel.get_config": [
        f"{MK}::test_dlgm_model_from_its_config_is_the_same_model_and_adapt_sets_the_output_bias"
    ],
}


def public_names():
    """rsmlib.__all__, rsmlib.keras's own public functions and classes ("keras.NAME"), and
    "Class.method" for the public methods and properties each class defines itself."""
    names = set(rsmlib.__all__)
    names |= {
        f"keras.{name}"
        for name, obj in vars(rsmlib.keras).items()
        if not name.startswith("_")
        and (inspect.isfunction(obj) or inspect.isclass(obj))
        and obj.__module__ == "rsmlib.keras"
    }
    for cls in CLASSES:
        names |= {f"{cls.__name__}.{name}" for name in vars(cls) if not name.startswith("_")}
    return names


@lru_cache(maxsize=None)
def functions_of(filename):
    tree = ast.parse((TESTS / filename).read_text())
    return {
        node.name
        for node in tree.body
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")
    }


def test_every_public_name_has_a_mechanism_test():
    missing = sorted(public_names() - set(MECHANISMS))
    assert not missing, f"public names without a mechanism test in MECHANISMS: {missing}"


def test_every_entry_names_a_public_name():
    stale = sorted(set(MECHANISMS) - public_names())
    assert not stale, f"MECHANISMS names what is no longer public: {stale}"


@pytest.mark.parametrize("name", sorted(MECHANISMS))
def test_the_named_tests_exist(name):
    assert MECHANISMS[name], name
    for ref in MECHANISMS[name]:
        filename, function = ref.split("::")
        assert (TESTS / filename).is_file(), ref
        assert function in functions_of(filename), ref
